"""Helpers for the GUI tests: a tiny real model, small real photos, a simulated drop."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

NO_KEYS = Qt.KeyboardModifier.NoModifier
COLOURS = [(220, 20, 20), (20, 20, 220), (120, 120, 120), (200, 10, 200), (20, 200, 20)]


def make_tiny_model(path: Path, categories=("cats", "dogs", "cars")) -> Path:
    """A real Sorter model file (fastai resnet18 layout, random weights, 32 px input)."""
    import torch

    from sorter.core.model import save_model
    from sorter.core.networks import build_network

    torch.manual_seed(0)
    meta = {
        "arch": "resnet18",
        "builder": "fastai",
        "categories": list(categories),
        "activation": "sigmoid",
        "n_outputs": len(categories),
        "default_threshold": 0.5,
        "thresholds": {},
        "input_size": 32,
        "resize_method": "squish",
        "normalize": None,
        "training": {"note": "random weights for GUI tests"},
    }
    save_model(path, meta, build_network(meta).state_dict())
    return path


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
