"""`sorter-gui --screenshots DIR`: drive the real window through every state and save PNGs.

It sorts the bundled sample photos with the current model into a temporary folder, so nothing of
the user's is touched; on Linux the settings and queue folders are redirected to it as well.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QPainter
from PySide6.QtWidgets import QApplication, QWidget

from sorter.appdirs import asset_path

log = logging.getLogger(__name__)

TIMEOUT_MS = 300_000


def wait_for(signal: Any, timeout_ms: int = TIMEOUT_MS, accept: Any = None) -> bool:
    """Run the event loop until `signal` fires (and `accept(args)` agrees) or time runs out."""
    loop = QEventLoop()
    got = {"ok": False}

    def on_signal(*args: Any) -> None:
        if accept is None or accept(*args):
            got["ok"] = True
            loop.quit()

    signal.connect(on_signal)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(on_signal)
    return got["ok"]


def settle(window: Any, ms: int = 300) -> None:
    """Let queued thumbnails arrive and the layout settle before grabbing."""
    for pool in (window.thumbs.pool, window.large_images.pool):
        pool.waitForDone(30_000)
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def save(widget: QWidget, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    widget.grab().save(str(path))
    log.info("Saved %s", path)
    return path


def _isolate_user_dirs(tmp: Path) -> None:
    # platformdirs honours XDG_* on Linux; elsewhere the real folders are used read-mostly.
    if sys.platform.startswith("linux"):
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            os.environ[var] = str(tmp / var.lower())


def take_screenshots(folder: Path, model_path: str | None = None) -> int:
    """Save empty, scanning, preview (light, dark, with Move chosen), summary, review (three
    sizes, large view, picker), correction and error PNGs into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sorter-shots-") as tmp_text:
        tmp = Path(tmp_text)
        _isolate_user_dirs(tmp)
        return _walk_through(folder, tmp, model_path)


def _walk_through(folder: Path, tmp: Path, model_path: str | None) -> int:
    from sorter.core.settings import Settings
    from sorter.gui.main_window import MainWindow

    window = MainWindow(settings=Settings(), model_path=model_path)
    window.show()
    window.start_loading_model()
    if not wait_for(window.model_ready):
        log.error("The model did not load; no further screenshots")
        return 1
    settle(window)
    save(window, folder, "1-empty")  # as it looks once the model says its categories
    window.batch_size = 4  # several progress reports for the scanning shot
    window.out_override = tmp / "Samples (sorted)"
    window.open_sources([asset_path("samples")])
    wait_for(window.scan_job.signals.progressed)
    save(window, folder, "2-scanning")
    wait_for(window.page_changed, accept=lambda page: page == "PreviewPage")
    settle(window)
    save(window, folder, "3-preview")
    _dark_shot(window, folder)
    _move_shot(window, folder)
    _after_preview(window, folder)
    return 0


def _dark_shot(window: Any, folder: Path) -> None:
    """The same preview with the dark palette a dark system setting gives."""
    from sorter.gui.theme import apply_theme

    app = QApplication.instance()
    apply_theme(app, dark=True)
    settle(window)
    save(window, folder, "3-preview-dark")
    apply_theme(app, dark=False)
    settle(window)


def _move_shot(window: Any, folder: Path) -> None:
    """Advanced open with Move chosen: the warning the user reads before moving."""
    panel, row = window.preview.thresholds, window.preview.mode_row
    panel.advanced_button.setChecked(True)
    row.buttons["move"].setChecked(True)
    settle(window)
    save(window, folder, "3-preview-move")
    row.buttons["copy"].setChecked(True)
    panel.advanced_button.setChecked(False)
    settle(window)


def _after_preview(window: Any, folder: Path) -> None:
    window.start_copy()
    wait_for(window.page_changed, accept=lambda page: page == "SummaryPage")
    settle(window)
    save(window, folder, "4-summary")
    window.open_review()
    if len(window.review_page.model.items) < 6:  # few uncertain: show every image instead
        window.open_review("")
    if window.review_page.model.items:
        _review_shots(window, folder)
        window.open_correction_dialog(window.review_page.model.items[0])
        dialog = window.correction_dialog
        settle(window)
        save(dialog, folder, "6-correction")
        dialog.reject()
    _error_shot(window, folder)
    window.close()


def press(widget: QWidget, key: Qt.Key, text: str = "") -> None:
    """A key press and release, as the keyboard sends them."""
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QApplication.sendEvent(widget, QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, text))


def _review_shots(window: Any, folder: Path) -> None:
    """The grid with a change waiting (three sizes), the large view and the category picker."""
    page = window.review_page
    press(page.view, Qt.Key.Key_Right)
    press(page.view, Qt.Key.Key_6, "6")  # a change not saved yet: its badge shows
    for size, name in ((160, "5-review"), (96, "5-review-small"), (320, "5-review-large")):
        page.set_thumbnail_size(size)
        settle(window)
        save(window, folder, name)
    page.set_thumbnail_size(160)
    press(page.view, Qt.Key.Key_Space)
    settle(window)
    save(window, folder, "5-large-view")
    press(page.large_view, Qt.Key.Key_Escape)
    press(page.view, Qt.Key.Key_S, "s")
    page.picker.filter.setText("sp")
    settle(window)
    save_composite(window, page.picker, folder, "5-picker")
    page.picker.close()


def save_composite(window: QWidget, popup: QWidget, folder: Path, name: str) -> Path:
    """The window with a popup (its own top-level window) drawn where it shows."""
    image = window.grab()
    painter = QPainter(image)
    painter.drawPixmap(popup.pos() - window.pos(), popup.grab())
    painter.end()
    path = folder / f"{name}.png"
    image.save(str(path))
    log.info("Saved %s", path)
    return path


def _error_shot(window: Any, folder: Path) -> None:
    """A real error: the core refusing a file that is not a model."""
    from sorter.core.model.modelfile import load_model
    from sorter.gui.errors import show_error
    from sorter.gui.worker import JobError

    bad = Path(tempfile.mkdtemp()) / "holiday.pth"
    bad.write_bytes(b"not a model")
    try:
        load_model(bad)
    except Exception as exc:
        dialog = show_error(window, JobError.from_exception(exc))
        settle(window)
        save(dialog, folder, "7-error")
        dialog.accept()
    QApplication.processEvents()
