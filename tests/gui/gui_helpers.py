"""Qt helpers for the GUI tests: a simulated drop (fakes and builders live in fakes.py)."""

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
