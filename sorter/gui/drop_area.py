"""The big drop target: folders or image files dragged from Explorer, or "Choose folder..."."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFont
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from sorter.core.files import IMAGE_SUFFIXES

log = logging.getLogger(__name__)


def usable_paths(urls: list) -> list[Path]:
    """Local folders and image files among dropped URLs (others are ignored)."""
    paths = []
    for url in urls:
        if not url.isLocalFile():
            continue
        path = Path(url.toLocalFile())
        if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
            paths.append(path)
    return paths


class DropArea(QFrame):
    """A large framed area that accepts dropped folders and images."""

    dropped = Signal(list)  # list[Path]
    choose_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("dropArea")
        self.setMinimumHeight(self.fontMetrics().height() * 14)
        self.title = QLabel("Drop a folder of photos here")
        font = QFont(self.title.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.title.setFont(font)
        self.hint = QLabel(
            "Every photo is copied into the folder of each category it belongs to.\n"
            "Your originals are never changed."
        )
        # Which categories the model in use sorts into (set once it has loaded).
        self.categories = QLabel()
        self.categories.setWordWrap(True)
        self.categories.setTextFormat(Qt.TextFormat.PlainText)
        margin = self.fontMetrics().height() * 4
        self.categories.setContentsMargins(margin, 0, margin, 0)
        self.categories.setVisible(False)
        self.choose_button = QPushButton("Choose folder...")
        self.choose_button.clicked.connect(self.choose_requested)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (self.title, self.hint, self.categories, self.choose_button):
            # A wrapped label takes the layout's width (it gets the height its lines need
            # only then); the others keep their own width, centred.
            align = (
                Qt.AlignmentFlag(0) if widget is self.categories else Qt.AlignmentFlag.AlignHCenter
            )
            layout.addWidget(widget, 0, align)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.categories.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)
        self._set_highlight(False)

    def show_model(self, name: str, categories: list[str], exclusive: bool) -> None:
        """Say where photos go with the model in use: its kind and its categories."""
        if exclusive:
            where = "the folder of its category (or “uncertain” when the model is not sure)"
        else:
            where = "the folder of each category it belongs to (or “uncertain”)"
        self.hint.setText(f"Every photo is copied into {where}.\nYour originals are never changed.")
        self.categories.setText(
            f"{'The built-in model' if name == 'default' else f'Model {name}'} knows "
            f"{len(categories)} categories: {', '.join(categories)}."
        )
        self.categories.setVisible(True)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and usable_paths(event.mimeData().urls()):
            event.acceptProposedAction()
            self._set_highlight(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self._set_highlight(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_highlight(False)
        paths = usable_paths(event.mimeData().urls()) if event.mimeData().hasUrls() else []
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        log.info("Dropped: %s", [str(p) for p in paths])
        self.dropped.emit(paths)

    def _set_highlight(self, on: bool) -> None:
        # The dashed border uses palette colours so it reads well in light and dark themes.
        role = "highlight" if on else "mid"
        self.setStyleSheet(
            f"#dropArea {{ border: 2px dashed palette({role}); border-radius: 12px; }}"
        )
