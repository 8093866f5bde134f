"""Qt helpers for the GUI tests: a simulated drop, a Ctrl+wheel, a painted tile (fakes and
builders live in fakes.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

NO_KEYS = Qt.KeyboardModifier.NoModifier


def drop_paths(widget, paths: list[Path]) -> bool:
    """Drag file URLs onto the widget and drop them, as Explorer does (enter, move, drop).

    Returns whether the widget accepted the drag.
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = widget.rect().center()
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, NO_KEYS)
    enter = QDragEnterEvent(point, *args)
    QApplication.sendEvent(widget, enter)
    QApplication.sendEvent(widget, QDragMoveEvent(point, *args))
    if enter.isAccepted():
        QApplication.sendEvent(widget, QDropEvent(QPointF(point), *args))
    return enter.isAccepted()


def ctrl_wheel(widget, notches: int) -> None:
    """Turn the mouse wheel over `widget` with Ctrl held (positive: away from the user)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    centre = QPointF(widget.rect().center())
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(widget.rect().center())),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def paint_tile(view, row: int):
    """The tile of `row` as the grid painted it (a crop of the grabbed viewport)."""
    view.viewport().repaint()
    rect = view.visualRect(view.model().index(row))
    return view.viewport().grab(rect).toImage()


def colour_share(image, rect, predicate) -> float:
    """The share of pixels inside `rect` of `image` for which predicate(QColor) holds."""
    hits = total = 0
    for y in range(max(0, rect.top()), min(image.height(), rect.bottom() + 1)):
        for x in range(max(0, rect.left()), min(image.width(), rect.right() + 1)):
            total += 1
            hits += bool(predicate(image.pixelColor(x, y)))
    return hits / total if total else 0.0


def slow_scoring(window, monkeypatch, seconds: float = 0.05):
    """The window's real network, slowed by `seconds` a batch (batches of 2) so a Cancel
    lands mid-run; returns the real scoring function, to put back."""
    import time

    real_scores = window.model.scores

    def slow_scores(batch):
        time.sleep(seconds)
        return real_scores(batch)

    monkeypatch.setattr(window.model, "scores", slow_scores)
    window.batch_size = 2
    return real_scores


def open_main_window(qtbot, model_path: Path):
    """The main window, shown, with the model at `model_path` loaded (default settings)."""
    from sorter.core.settings import Settings
    from sorter.gui.main_window import MainWindow

    win = MainWindow(settings=Settings(), model_path=str(model_path))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model_ready, timeout=60_000):
        win.start_loading_model()
    return win
