"""The correction dialog: the image large, a checkbox per category with the model's score."""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from sorter.gui.review_model import ReviewItem
from sorter.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)


class FittedImage(QLabel):
    """Shows a picture as large as the space allows, never cropped or stretched."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Loading the image...", parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self._source: QPixmap | None = None

    def set_image(self, pixmap: QPixmap) -> None:
        self._source = pixmap
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


class CorrectionDialog(QDialog):
    """Tick what the image really shows; Save fixes the output and queues the image."""

    def __init__(
        self,
        item: ReviewItem,
        categories: list[str],
        large: ThumbnailCache,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.item = item
        self._large = large
        self.setWindowTitle(f"Correct {item.path.name}")
        self.image_label = FittedImage()
        self.image_label.setMinimumSize(large.size // 3, large.size // 3)
        self.checks: dict[str, QCheckBox] = {}
        self._checks_box = QVBoxLayout()
        current = item.pending if item.pending is not None else item.folders
        scores = item.score_map(categories)
        for i, name in enumerate(categories):
            key = f"&{i + 1} " if i < 9 else ""
            text = f"{key}{name.replace('&', '&&')}   ({scores[name]:.2f})"
            self._add_check(name, text, name in current)
        self.new_category = QLineEdit()
        self.new_category.setPlaceholderText("new category...")
        self.new_category.installEventFilter(self)
        self.add_button = QPushButton("Add")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._on_new_category_return_pressed)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.none_button = self.buttons.addButton(
            "None of these", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.none_button.clicked.connect(self._on_none_button_clicked)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._lay_out()
        large.loaded.connect(self._on_large_loaded)
        self._show_image()

    def _lay_out(self) -> None:
        side = QVBoxLayout()
        side.addWidget(QLabel("<b>What does this image show?</b>"))
        side.addLayout(self._checks_box)
        row = QHBoxLayout()
        row.addWidget(self.new_category, 1)
        row.addWidget(self.add_button)
        side.addLayout(row)
        side.addStretch(1)
        side_host = QWidget()
        side_host.setLayout(side)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(side_host)
        body = QHBoxLayout()
        body.addWidget(self.image_label, 3)
        body.addWidget(scroll, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(QLabel(f"<small>{html.escape(str(self.item.path))}</small>"))
        layout.addWidget(self.buttons)

    def labels(self) -> list[str]:
        """The ticked categories, in the order shown (new ones last)."""
        return [name for name, box in self.checks.items() if box.isChecked()]

    def _add_check(self, name: str, text: str, checked: bool) -> None:
        box = QCheckBox(text)
        box.setChecked(checked)
        self.checks[name] = box
        self._checks_box.addWidget(box)

    def _on_new_category_return_pressed(self) -> None:
        name = self.new_category.text().strip()
        if not name:
            return
        if name in self.checks:
            self.checks[name].setChecked(True)
        else:
            self._add_check(name, f"{name.replace('&', '&&')}   (new)", True)
        self.new_category.clear()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Enter in the "new category" field adds the category; it must not also save.
        if (
            watched is self.new_category
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self._on_new_category_return_pressed()
            return True
        return super().eventFilter(watched, event)

    def _on_none_button_clicked(self) -> None:
        for box in self.checks.values():
            box.setChecked(False)
        self.accept()

    def _show_image(self) -> None:
        image = self._large.get(self.item.path)
        if image is None:
            return
        self.image_label.set_image(QPixmap.fromImage(image))

    def _on_large_loaded(self, path: str) -> None:
        if path == str(self.item.path):
            self._show_image()
