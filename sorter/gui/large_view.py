"""The review's large view: one image fitted to the window, with previous and next."""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from sorter.core.sorting.review_items import ReviewItem
from sorter.gui.review_model import PENDING, SAVED, badge
from sorter.gui.review_tiles import BADGE_COLOURS
from sorter.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)


class FittedImage(QLabel):
    """Shows a picture as large as the space allows, never cropped or stretched."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Loading the image...", parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._source: QPixmap | None = None

    def set_image(self, pixmap: QPixmap | None) -> None:
        self._source = pixmap
        if pixmap is None:
            self.setText("Loading the image...")
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._source is not None and not self._source.isNull():
            self.setPixmap(
                self._source.scaled(
                    self.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )


def _flat_button(text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the view
    return button


class LargeView(QWidget):
    """The current image large; the review page drives it and handles its keys."""

    step_requested = Signal(int)  # -1 previous, +1 next
    back_requested = Signal()

    def __init__(self, large: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._large = large
        self.item: ReviewItem | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.back_button = _flat_button("Back to the grid", "Space or Esc")
        self.previous_button = _flat_button("← Previous", "Left arrow")
        self.next_button = _flat_button("Next →", "Right arrow")
        self.back_button.clicked.connect(self.back_requested)
        self.previous_button.clicked.connect(lambda: self.step_requested.emit(-1))
        self.next_button.clicked.connect(lambda: self.step_requested.emit(1))
        self.position = QLabel()
        self.name = QLabel()
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.image = FittedImage()
        self.scores = QLabel()
        self.scores.setWordWrap(True)
        self.badge = QLabel()
        self._lay_out()
        large.loaded.connect(self._on_large_loaded)

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.back_button)
        top.addWidget(self.name, 1)
        top.addWidget(self.position)
        top.addWidget(self.previous_button)
        top.addWidget(self.next_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.badge)
        bottom.addWidget(self.scores, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.image, 1)
        layout.addLayout(bottom)

    def show_item(self, item: ReviewItem, categories: list[str], row: int, total: int) -> None:
        """Show `item` (row `row` of `total`) with its scores and its pending or saved labels."""
        self.item = item
        self.name.setText(f"<b>{html.escape(item.path.name)}</b>")
        self.name.setToolTip(str(item.path))
        self.position.setText(f"{row + 1} of {total}")
        self.previous_button.setEnabled(row > 0)
        self.next_button.setEnabled(row + 1 < total)
        scores = sorted(item.score_map(categories).items(), key=lambda p: -p[1])[:4]
        self.scores.setText("Scores:  " + "   ".join(f"{n} {s:.2f}" for n, s in scores))
        self._show_badge(item)
        self._show_image()

    def _show_badge(self, item: ReviewItem) -> None:
        kind, text = badge(item, show_folders=True)
        if kind == PENDING:
            text += "  (Enter saves)"
        background, colour = BADGE_COLOURS.get(kind, BADGE_COLOURS[SAVED])
        if kind not in (PENDING, SAVED):
            self.badge.setStyleSheet("")
        else:
            self.badge.setStyleSheet(
                f"background: {background.name()}; color: {colour.name()};"
                "border-radius: 6px; padding: 2px 8px;"
            )
        self.badge.setText(text)

    def _show_image(self) -> None:
        image = self._large.get(self.item.shown) if self.item is not None else None
        self.image.set_image(QPixmap.fromImage(image) if image is not None else None)

    def _on_large_loaded(self, path: str) -> None:
        if self.item is not None and path == str(self.item.shown):
            self._show_image()
