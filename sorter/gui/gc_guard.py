"""Python's cyclic garbage collection, run on the GUI thread only.

CPython collects in whichever thread happens to allocate past the threshold. When that is a
worker (loading a model, training) and the garbage holds a Qt wrapper, the Qt object is destroyed
outside the GUI thread, which can crash the process: a test run died that way, with a collection
inside torch.load on the model-loading worker. So while the window runs, the automatic collector
is off and the GUI thread collects on a timer, generation by generation, at the same thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class MainThreadCollector(QObject):
    """Turns automatic collection off and collects on a timer of its parent's (GUI) thread."""

    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(interval_ms)

    def collect_due(self) -> int:
        """Collect the generations whose counts passed their thresholds; objects found."""
        found = 0
        for generation, threshold in enumerate(self._thresholds):
            if gc.get_count()[generation] <= threshold:
                break
            found += gc.collect(generation)
        return found

    def stop(self) -> None:
        """Stop the timer and give automatic collection back as it was."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()


def install(app: QObject) -> MainThreadCollector:
    """The application's collector, made on first call."""
    found = app.findChild(MainThreadCollector)
    return found if found is not None else MainThreadCollector(app)
