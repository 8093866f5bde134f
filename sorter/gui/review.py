"""Review view: a keyboard-first grid of images, least certain first, for fixing mistakes."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sorter.core.model.decide import UNCERTAIN
from sorter.core.sorting.session import ReviewItem, ReviewSet, toggle_category
from sorter.gui.review_model import ItemRole, ReviewListModel
from sorter.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)

NUMBER_KEYS = {getattr(Qt.Key, f"Key_{n}"): n - 1 for n in range(1, 10)}
ENTER_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter}


class ReviewPage(QWidget):
    """Shows one folder's images; number keys toggle labels, Enter saves, Delete says none."""

    # (items, labels): save these items with these true labels; labels None: open the dialog.
    corrections_confirmed = Signal(list, list)  # list[ReviewItem], list[list[str]]
    dialog_requested = Signal(object)  # ReviewItem
    back_requested = Signal()

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.review: ReviewSet | None = None
        self.model = ReviewListModel(cache, [], self)
        self.folder_box = QComboBox()
        self.folder_box.currentIndexChanged.connect(self._on_folder_box_current_index_changed)
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setUniformItemSizes(True)
        self.view.setWordWrap(True)
        self.view.setSpacing(self.fontMetrics().height() // 2)
        self.view.setIconSize(QSize(cache.size, cache.size))
        line = self.fontMetrics().height()
        self.view.setGridSize(QSize(cache.size + 5 * line, cache.size + 4 * line))
        self.view.doubleClicked.connect(self._on_view_double_clicked)
        self.view.installEventFilter(self)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.back_button = QPushButton("Back to summary")
        self.back_button.clicked.connect(self.back_requested)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.folder_box)
        top.addStretch(1)
        top.addWidget(self.back_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.legend)

    def show_review(self, review: ReviewSet, folder: str = UNCERTAIN) -> None:
        """Fill the folder chooser and show `folder` (uncertain by default)."""
        self.review = review
        self.folder_box.blockSignals(True)
        self.folder_box.clear()
        counts = review.folder_counts()
        for name, count in counts.items():
            self.folder_box.addItem(f"{name} ({count})", name)
        self.folder_box.addItem(f"all images ({len(review.items)})", "")
        self.folder_box.setCurrentIndex(max(0, self.folder_box.findData(folder)))
        self.folder_box.blockSignals(False)
        keys = "   ".join(f"{i + 1} {n}" for i, n in enumerate(review.categories[:9]))
        self.legend.setText(
            f"Keys: {keys}  ·  arrows move  ·  number toggles a category  ·  Enter saves "
            "(or opens the image)  ·  Delete: none of these  ·  Ctrl/Shift-click selects several"
        )
        self._show_folder()

    def current_folder(self) -> str:
        return self.folder_box.currentData() or ""

    def selected_items(self) -> list[ReviewItem]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.items[r] for r in rows]

    def refresh_items(self, items: list[ReviewItem]) -> None:
        for item in items:
            self.model.refresh(item)

    def _show_folder(self) -> None:
        if self.review is None:
            return
        items = self.review.in_folder(self.current_folder())
        self.model.set_items(items, self.review.categories)
        if items:
            self.view.setCurrentIndex(self.model.index(0))
        self.view.setFocus()

    def _on_folder_box_current_index_changed(self, _index: int) -> None:
        self._show_folder()

    def _on_view_double_clicked(self, index) -> None:
        self.dialog_requested.emit(index.data(ItemRole))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.KeyPress:
            return self._handle_key(event)
        return super().eventFilter(watched, event)

    def _handle_key(self, event: QKeyEvent) -> bool:
        items = self.selected_items()
        key = event.key()
        if not items or self.review is None:
            return False
        if key in NUMBER_KEYS and NUMBER_KEYS[key] < len(self.review.categories):
            self._toggle(items, self.review.categories[NUMBER_KEYS[key]])
            return True
        if key in ENTER_KEYS:
            self._confirm_or_open(items)
            return True
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.corrections_confirmed.emit(items, [[] for _ in items])
            return True
        return False

    def _toggle(self, items: list[ReviewItem], category: str) -> None:
        toggle_category(items, category)
        self.refresh_items(items)

    def _confirm_or_open(self, items: list[ReviewItem]) -> None:
        pending = [i for i in items if i.pending is not None]
        if pending:
            self.corrections_confirmed.emit(pending, [list(i.pending) for i in pending])
        else:
            self.dialog_requested.emit(self.view.currentIndex().data(ItemRole) or items[0])
