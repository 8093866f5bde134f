"""Step 2: what would be copied where, before anything is written; thresholds re-decide live."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from sorter.core.model.decide import UNCERTAIN, UNREADABLE
from sorter.core.sorting.overrides import images_in
from sorter.core.sorting.plan import SortPlan
from sorter.core.sorting.session import (
    PreviewFigures,
    ScoreResult,
    Thresholds,
    preview_figures,
)
from sorter.core.sorting.update import SortUpdate
from sorter.gui.pages import OutputRow, plural
from sorter.gui.preview_images import CategoryImages
from sorter.gui.sort_mode import SortModeRow, past, verb
from sorter.gui.thresholds import ThresholdPanel
from sorter.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)

SAMPLES_PER_TILE = 4


class CategoryTile(QFrame):
    """One destination folder: its name, how many images would land there, a few of them."""

    expand_requested = Signal(str)  # the folder's name: show all its images

    def __init__(self, name: str, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._cache = cache
        self._samples: list[str] = []
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel(name)
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.count_label = QLabel()
        self.show_all = QPushButton()
        self.show_all.setFlat(True)
        self.show_all.setCursor(Qt.CursorShape.PointingHandCursor)
        self.show_all.clicked.connect(lambda: self.expand_requested.emit(self.name))
        self.thumbs = [QLabel() for _ in range(SAMPLES_PER_TILE)]
        side = cache.size // 2
        row = QHBoxLayout()
        for label in self.thumbs:
            label.setMinimumSize(side, side)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            row.addWidget(label)
        row.addStretch(1)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(row)
        layout.addWidget(self.show_all, 0, Qt.AlignmentFlag.AlignLeft)
        cache.loaded.connect(self._on_cache_loaded)

    @property
    def count(self) -> int:
        return int(self.count_label.property("count") or 0)

    def set_content(self, count: int, samples: list[Path]) -> None:
        self.count_label.setText(f"{count} image{'s' if count != 1 else ''}")
        self.count_label.setProperty("count", count)
        self._samples = [str(p) for p in samples[:SAMPLES_PER_TILE]]
        self.show_all.setText(f"Show all {count}")
        self.show_all.setVisible(count > 0 and self.name != UNREADABLE)
        self._show_thumbs()

    def _show_thumbs(self) -> None:
        if self.name == UNREADABLE:  # no picture to show: name the files instead
            names = [Path(p).name for p in self._samples]
            self.thumbs[0].setText("\n".join(names))
            return
        side = self._cache.size // 2
        for i, label in enumerate(self.thumbs):
            path = self._samples[i] if i < len(self._samples) else None
            image = self._cache.get(path) if path else None
            if image is None:
                label.clear()
                continue
            pix = QPixmap.fromImage(image).scaled(
                side,
                side,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            label.setPixmap(pix)
            label.setToolTip(Path(path).name)

    def _on_cache_loaded(self, path: str) -> None:
        if path in self._samples:
            self._show_thumbs()


class PreviewPage(QWidget):
    """Tiles per folder, the thresholds, and the button that starts copying."""

    copy_requested = Signal()
    back_requested = Signal()
    thresholds_changed = Signal(object)  # Thresholds

    def __init__(self, cache: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cache = cache
        self.result: ScoreResult | None = None
        self.plan: SortPlan | None = None  # the plan shown, hand-made moves included
        self._th: Thresholds | None = None
        self._figures: PreviewFigures | None = None  # the plan's counts, for the button's words
        self._update: SortUpdate | None = None  # what the plan changes in an earlier sort
        self.images_view: CategoryImages | None = None
        self.tiles: dict[str, CategoryTile] = {}
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.output_row = OutputRow()
        self.thresholds = ThresholdPanel()
        self.thresholds.changed.connect(self._on_thresholds_changed)
        self.mode_row = SortModeRow()  # copy, link or move: with the advanced settings
        self.mode_row.changed.connect(self._on_mode_row_changed)
        self.thresholds.advanced_button.toggled.connect(self.mode_row.set_expanded)
        self.uncertain_label = QLabel()
        self.moved_label = QLabel()  # why the sliders leave some images where they are
        self.moved_label.setToolTip(
            "Images you moved by hand stay where you put them when a slider moves."
        )
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.update_label = QLabel()  # the diff against an earlier sort into the same folder
        self.update_label.setWordWrap(True)
        self.update_label.setTextFormat(Qt.TextFormat.RichText)
        self.update_label.hide()
        scroll = self._scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._grid_host)
        self.back_button = QPushButton("Back")
        self.back_button.clicked.connect(self.back_requested)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setDefault(True)
        self.copy_button.clicked.connect(self.copy_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.moved_label)
        buttons.addWidget(self.uncertain_label)
        buttons.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.output_row)
        layout.addWidget(self.thresholds)
        layout.addWidget(self.mode_row)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.update_label)
        layout.addLayout(buttons)

    def show_result(self, result: ScoreResult, th: Thresholds) -> None:
        """Build one tile per folder for a new scan, then fill them for `th`."""
        self.result = result
        self._figures = self._update = None
        for tile in self.tiles.values():
            tile.deleteLater()
        self.tiles = {}
        names = [UNCERTAIN, *result.categories, UNREADABLE]  # uncertain first: always in view
        for name in names:
            self.tiles[name] = tile = CategoryTile(name, self._cache)
            tile.expand_requested.connect(self.show_images)
        self.mode_row.set_source(str(result.src))
        self._show_header()
        self.thresholds.set_categories(result.categories, th)
        self.refresh(th)

    def refresh(self, th: Thresholds) -> None:
        """Re-plan every image from the cached scores and update counts and the copy button."""
        if self.result is None:
            return
        self._th = th
        plan = self.plan = self.result.plan(th)
        figures = preview_figures(plan, SAMPLES_PER_TILE)
        for name, tile in self.tiles.items():
            tile.set_content(figures.counts.get(name, 0), figures.samples.get(name, []))
        self._figures, self._update = figures, self.result.update(plan)
        self._show_button_texts()
        self.uncertain_label.setText(f"{figures.counts[UNCERTAIN]} would go to uncertain")
        empty = figures.empty
        self.empty_label.setText(("No images for: " + ", ".join(empty)) if empty else "")
        moved = len(self.result.overrides)
        self.moved_label.setText(f"{plural(moved, 'image')} moved by hand ·" if moved else "")
        self._relayout()
        if self.images_view is not None and self.images_view.isVisible():
            self.images_view.show_images(images_in(plan, self.images_view.name))

    def show_images(self, name: str) -> None:
        """Open the view of every image the plan puts into `name`."""
        if self.result is None or self.plan is None:
            return
        if self.images_view is not None:
            self.images_view.close()
            self.images_view.deleteLater()
        view = self.images_view = CategoryImages(name, self.result.categories, self._cache, self)
        view.moved.connect(self.move_images)
        view.show_images(images_in(self.plan, name))
        view.show()

    def move_images(self, paths: list[Path], target: str) -> None:
        """The user sent `paths` to `target` by hand: later slider moves keep that choice."""
        if self.result is None or self._th is None:
            return
        for path in paths:
            self.result.overrides[path] = target
        self.refresh(self._th)
        status = getattr(self.window(), "statusBar", None)  # absent when the page stands alone
        if status is not None:
            them = "it" if len(paths) == 1 else "them"
            text = f"Moved {plural(len(paths), 'image')} to {target}; the sliders leave {them} be."
            status().showMessage(text, 8000)

    def _show_button_texts(self) -> None:
        """The copy button and the update note, in the words of the chosen mode (copy, link or
        move), from the last plan's figures: a mode click changes words, not the plan."""
        if self._figures is None:
            return
        images, folders = self._figures.to_copy, self._figures.folders
        self.copy_button.setText(
            f"{verb(self.mode_row.mode())} {images} image{'s' if images != 1 else ''} "
            f"into {folders} folder{'s' if folders != 1 else ''}"
        )
        self._show_update(self._update)

    def _show_update(self, update: SortUpdate | None) -> None:
        """An earlier sort of these images is in OUT: say what copying changes there."""
        self.update_label.setVisible(update is not None)
        if update is None:
            return
        self.copy_button.setText("Update the sort")
        folders = ", ".join(update.folder_changes()) or "none"
        self.update_label.setText(
            f"<b>{plural(update.resort.images, 'image')} were sorted into this folder before.</b> "
            f"Copying updates that sort: <b>{update.moving} move</b> to other folders "
            f"({plural(update.stale, 'old copy', 'old copies')} go), <b>{update.stay} stay</b> "
            f"where they are, <b>{update.new} new</b> {'is' if update.new == 1 else 'are'} "
            f"{past(self.mode_row.mode())}. "
            f"Folders: {html.escape(folders)}. Nothing else in the folder is touched."
        )

    def _relayout(self) -> None:
        """Tiles with images (and uncertain), in as many columns as the width allows."""
        for tile in self.tiles.values():
            self._grid.removeWidget(tile)
            tile.hide()
        shown = [t for n, t in self.tiles.items() if t.count or n == UNCERTAIN]
        for row in range(self._grid.rowCount()):
            self._grid.setRowStretch(row, 0)
        if not shown:
            return
        width = max(t.sizeHint().width() for t in shown) + self._grid.horizontalSpacing()
        # The page width, not the viewport's: a hidden page's viewport has not been sized yet.
        room = self.width() - 4 * self.fontMetrics().height()
        columns = max(1, room // max(1, width))
        for i, tile in enumerate(shown):
            self._grid.addWidget(tile, i // columns, i % columns)
            tile.show()
        self._grid.setRowStretch(len(shown) // columns + 1, 1)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()

    def mode(self) -> str:
        """How the copy step places images: copy, link or move."""
        return self.mode_row.mode()

    def _show_header(self) -> None:
        if self.result is None:
            return
        where = html.escape(str(self.result.src))
        mode = self.mode_row.mode()
        self.header.setText(
            f"<b>{plural(len(self.result.scored), 'image')}</b> found in <i>{where}</i>. "
            f"Nothing has been {past(mode)} yet: check the folders below, then "
            f"{verb(mode).lower()}."
        )

    def _on_mode_row_changed(self, mode: str) -> None:
        self.output_row.caption.setText("Photos go to:" if mode == "move" else "Copies go to:")
        self._show_header()
        self._show_button_texts()

    def _on_thresholds_changed(self, th: Thresholds) -> None:
        self.refresh(th)
        self.thresholds_changed.emit(th)
