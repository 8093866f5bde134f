"""Helpers for the GUI tests: a tiny real model, small real photos, a simulated drop."""

from __future__ import annotations

from pathlib import Path

from model_helpers import make_tiny_model  # noqa: F401 (shared; imported from here by tests)
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

NO_KEYS = Qt.KeyboardModifier.NoModifier
COLOURS = [(220, 20, 20), (20, 20, 220), (120, 120, 120), (200, 10, 200), (20, 200, 20)]


def make_photos(folder: Path, count: int) -> Path:
    """`count` small real images of varied colours and patterns (so scores differ)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img = Image.new("RGB", (40, 30), COLOURS[i % len(COLOURS)])
        img.paste((i * 37 % 256, i * 91 % 256, i * 53 % 256), (0, 0, 10 + i % 25, 15))
        img.save(folder / f"photo_{i:03d}.{'jpg' if i % 2 else 'png'}")
    return folder


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
