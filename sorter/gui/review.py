"""Review view: a keyboard-first grid of images, least certain first, for fixing mistakes."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from sorter.core.model.decide import UNCERTAIN
from sorter.core.settings import DEFAULT_THUMBNAIL_SIZE, THUMBNAIL_SIZES
from sorter.core.sorting.review_items import ReviewItem, ReviewSet
from sorter.gui.correction_dialog import CorrectionDialog
from sorter.gui.large_view import LargeView
from sorter.gui.review_keys import ReviewKeysMixin
from sorter.gui.review_model import ReviewListModel
from sorter.gui.review_tiles import TileDelegate
from sorter.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)

SIZE_STEP = 16  # the slider and Ctrl+wheel move in steps of this many pixels
SAVE_SIZE_AFTER_MS = 800  # remember a size once the user stops changing it
RESIZE_EVERY_MS = 60  # a slider drag re-lays the grid out at most this often
LAYOUT_BATCH = 500  # tiles laid out per event-loop pass (about 1 ms each)
ANCHOR_TRIES = 200  # passes to wait for the current tile's place after a size change


class ReviewPage(ReviewKeysMixin, QWidget):
    """Shows one folder's images; number keys and the picker toggle labels, Enter saves and
    moves on, Delete says none, Space shows the image large."""

    # (items, labels): save these items with these true labels.
    corrections_confirmed = Signal(list, list)  # list[ReviewItem], list[list[str]]
    dialog_requested = Signal(object)  # ReviewItem
    back_requested = Signal()
    thumbnail_size_chosen = Signal(int)  # the user settled on a size: worth remembering

    def __init__(
        self,
        cache: ThumbnailCache,
        large: ThumbnailCache,
        size: int = DEFAULT_THUMBNAIL_SIZE,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.review: ReviewSet | None = None
        self.extra: list[str] = []  # categories made during this review (picker or dialog)
        self.large = large
        self.picker = None
        self.model = ReviewListModel([], self)
        self.delegate = TileDelegate(cache, self)
        self.folder_box = QComboBox()
        self.folder_box.currentIndexChanged.connect(self._on_folder_box_current_index_changed)
        self.size_slider = self._make_slider()
        self.view = self._make_view()
        cache.loaded.connect(self._on_cache_loaded)
        self.large_view = LargeView(large)
        self.large_view.installEventFilter(self)
        self.large_view.step_requested.connect(self.step)
        self.large_view.back_requested.connect(self.show_grid)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.view)
        self.pages.addWidget(self.large_view)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.back_button = QPushButton("Back to summary")
        self.back_button.clicked.connect(self.back_requested)
        self._size_timer = QTimer(self, singleShot=True, interval=SAVE_SIZE_AFTER_MS)
        self._size_timer.timeout.connect(self._on_size_timer_timeout)
        self._resize_timer = QTimer(self, singleShot=True, interval=RESIZE_EVERY_MS)
        self._resize_timer.timeout.connect(self._on_resize_timer_timeout)
        self._anchor = QTimer(self, interval=0)
        self._anchor.timeout.connect(self._on_anchor_timeout)
        self._anchor_tries = 0
        self._lay_out()
        self.set_thumbnail_size(size)

    def _make_slider(self) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(*THUMBNAIL_SIZES)
        slider.setSingleStep(SIZE_STEP)
        slider.setPageStep(2 * SIZE_STEP)
        slider.setToolTip("Thumbnail size (Ctrl+wheel over the images)")
        slider.setFixedWidth(10 * self.fontMetrics().height())
        slider.valueChanged.connect(self._on_size_slider_value_changed)
        return slider

    def _make_view(self) -> QListView:
        view = QListView()
        view.setModel(self.model)
        view.setItemDelegate(self.delegate)
        # A wrapping list, not IconMode: the same grid, laid out in half the time (no free
        # placement to keep); one tile size, so 5,000 images lay out in milliseconds.
        view.setFlow(QListView.Flow.LeftToRight)
        view.setWrapping(True)
        view.setResizeMode(QListView.ResizeMode.Adjust)
        view.setMovement(QListView.Movement.Static)
        view.setUniformItemSizes(True)
        view.setLayoutMode(QListView.LayoutMode.Batched)  # a layout never blocks for long
        view.setBatchSize(LAYOUT_BATCH)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Always there: a scroll bar appearing would narrow the grid and lay it out again.
        view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setSpacing(4)
        view.setMouseTracking(True)
        view.doubleClicked.connect(self._on_view_double_clicked)
        view.selectionModel().currentChanged.connect(self._on_view_current_changed)
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)
        return view

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.folder_box)
        top.addStretch(1)
        top.addWidget(QLabel("Size:"))
        top.addWidget(self.size_slider)
        top.addWidget(self.back_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.legend)

    # --- what is shown ------------------------------------------------------------------------
    def show_review(self, review: ReviewSet, folder: str = UNCERTAIN) -> None:
        """Fill the folder chooser and show `folder` (uncertain by default)."""
        if review is not self.review:
            self.extra = []
        self.review = review
        self._fill_folder_box(folder)
        keys = "   ".join(f"{i + 1} {n}" for i, n in enumerate(review.categories[:9]))
        self.legend.setText(
            f"Keys: {keys}  ·  a letter or / finds any category (or makes a new one)  ·  "
            "Enter saves and moves on  ·  Delete: none of these  ·  Space: large view  ·  "
            "Ctrl/Shift-click selects several  ·  Ctrl+wheel: size"
        )
        self._show_folder()

    def _fill_folder_box(self, folder: str) -> None:
        self.folder_box.blockSignals(True)
        self.folder_box.clear()
        for name, count in self.review.folder_counts().items():
            self.folder_box.addItem(f"{name} ({count})", name)
        self.folder_box.addItem(f"all images ({len(self.review.items)})", "")
        self.folder_box.setCurrentIndex(max(0, self.folder_box.findData(folder)))
        self.folder_box.blockSignals(False)

    def refresh_counts(self) -> None:
        """After saved corrections: every folder's count again (a new category included); the
        folder shown and the grid stay as they are, so the user does not lose their place."""
        if self.review is not None:
            self._fill_folder_box(self.current_folder())

    def current_folder(self) -> str:
        return self.folder_box.currentData() or ""

    def all_categories(self) -> list[str]:
        """The model's categories, then those made during this review."""
        return [*self.review.categories, *self.extra] if self.review else list(self.extra)

    def selected_items(self) -> list[ReviewItem]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.items[r] for r in rows]

    def current_item(self) -> ReviewItem | None:
        index = self.view.currentIndex()
        return self.model.items[index.row()] if index.isValid() else None

    def refresh_items(self, items: list[ReviewItem]) -> None:
        """Show these items' new labels (pending or saved)."""
        self.model.note_pictures(items)
        for item in items:
            self._repaint(item)
        if self.large_view_open():
            self._show_large()

    def _repaint(self, item: ReviewItem | str) -> None:
        # A repaint, not dataChanged: tiles keep their size, and a wrapping list view answers
        # dataChanged by laying all 5,000 items out again.
        row = self.model.row_of(item)
        if row is not None:
            self.view.update(self.model.index(row))

    def _show_folder(self) -> None:
        if self.review is None:
            return
        folder = self.current_folder()
        items = self.review.in_folder(folder)
        self.model.set_items(items, self.review.categories, show_folders=not folder)
        if items:
            self.view.setCurrentIndex(self.model.index(0))
        self.show_grid()

    def _on_folder_box_current_index_changed(self, _index: int) -> None:
        self._show_folder()

    def _on_cache_loaded(self, path: str) -> None:
        self._repaint(path)

    # --- thumbnail size ---------------------------------------------------------------------
    def thumbnail_size(self) -> int:
        return self.delegate.picture

    def set_thumbnail_size(self, size: int) -> None:
        """Show pictures of `size` px (snapped to the slider's steps and range)."""
        low, high = THUMBNAIL_SIZES
        size = min(high, max(low, round(size / SIZE_STEP) * SIZE_STEP))
        self.size_slider.blockSignals(True)
        self.size_slider.setValue(size)
        self.size_slider.blockSignals(False)
        if size == self.delegate.picture and self.view.iconSize().width() == size:
            return
        self.delegate.picture = size
        # The grid is laid out again in batches (a few ms each); until the current image has its
        # place, nothing is painted, then it is scrolled into view: no jump, no flash.
        self.view.viewport().setUpdatesEnabled(False)
        self.view.setIconSize(QSize(size, size))
        self._anchor_tries = 0
        self._anchor.start()

    def _on_anchor_timeout(self) -> None:
        index = self.view.currentIndex()
        if index.isValid() and not self.view.visualRect(index).isValid():
            self._anchor_tries += 1
            if self._anchor_tries < ANCHOR_TRIES:
                return  # not laid out yet
        self._anchor.stop()
        self.view.viewport().setUpdatesEnabled(True)
        if index.isValid():
            self.view.scrollTo(index)

    def _on_size_slider_value_changed(self, value: int) -> None:
        # A drag changes the size at most every RESIZE_EVERY_MS, so each new layout can finish
        # and be seen; the last value is applied when the drag pauses.
        self._size_timer.start()
        if not self._resize_timer.isActive():
            self.set_thumbnail_size(value)
            self._resize_timer.start()

    def _on_resize_timer_timeout(self) -> None:
        if self.size_slider.value() != self.thumbnail_size():
            self.set_thumbnail_size(self.size_slider.value())
            self._resize_timer.start()

    def _on_size_timer_timeout(self) -> None:
        self.thumbnail_size_chosen.emit(self.thumbnail_size())

    def _zoom(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120
        if notches:
            self.size_slider.setValue(round(self.thumbnail_size() + notches * SIZE_STEP))

    # --- the large view ---------------------------------------------------------------------
    def large_view_open(self) -> bool:
        return self.pages.currentWidget() is self.large_view

    def show_large(self) -> None:
        """Show the current image large (Space, double-click)."""
        if self.current_item() is None:
            return
        self.pages.setCurrentWidget(self.large_view)
        self._show_large()
        self.large_view.setFocus()

    def show_grid(self) -> None:
        self.pages.setCurrentWidget(self.view)
        self.view.setFocus()
        self.view.scrollTo(self.view.currentIndex())

    def _show_large(self) -> None:
        index = self.view.currentIndex()
        if not index.isValid():
            return
        row, total = index.row(), self.model.rowCount()
        self.large_view.show_item(self.model.items[row], self.review.categories, row, total)
        if row + 1 < total:  # decode the next one while this one is looked at
            self.large.get(self.model.items[row + 1].shown)

    def step(self, delta: int) -> None:
        """Make the image `delta` rows away current (the large view follows)."""
        item = self.current_item()
        if item is not None:
            self.step_from(item, delta)

    def step_from(self, item: ReviewItem, delta: int) -> ReviewItem | None:
        """The image `delta` rows after `item`, made current; None past either end."""
        row = self.model.row_of(item)
        if row is None or not 0 <= row + delta < self.model.rowCount():
            return None
        self._repaint(item)
        self.view.setCurrentIndex(self.model.index(row + delta))
        return self.model.items[row + delta]

    def _on_view_current_changed(self, *_args) -> None:
        if self.large_view_open():
            self._show_large()

    def _on_view_double_clicked(self, _index) -> None:
        self.show_large()

    # --- decisions ----------------------------------------------------------------------------
    def decide(self, items: list[ReviewItem], labels: list[list[str]]) -> None:
        """Save these labels for these images, then move on to the next image."""
        known = set(self.all_categories())
        for name in (n for chosen in labels for n in chosen):
            if name not in known:
                self.extra.append(name)
                known.add(name)
        self.corrections_confirmed.emit(items, labels)
        rows = [r for r in (self.model.row_of(i) for i in items) if r is not None]
        if rows and max(rows) + 1 < self.model.rowCount():
            self.view.setCurrentIndex(self.model.index(max(rows) + 1))

    def make_dialog(self, item: ReviewItem, parent: QWidget) -> CorrectionDialog:
        """The correction dialog for `item`, stepping through this grid; Save decides."""
        dialog = CorrectionDialog(
            item, self.review.categories, self.large, parent, extra=self.extra,
            step=self.step_from, exclusive=self.review.exclusive,
        )  # fmt: skip
        dialog.accepted.connect(lambda: self.decide([dialog.item], [dialog.labels()]))
        return dialog

    # --- keys -----------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.KeyPress and watched in (self.view, self.large_view):
            return self._handle_key(event, large=watched is self.large_view)
        if (
            kind == QEvent.Type.Wheel
            and watched is self.view.viewport()
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self._zoom(event)
            return True
        return super().eventFilter(watched, event)
