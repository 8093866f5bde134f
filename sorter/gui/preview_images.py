"""Every image of one preview folder, as thumbnails; an image can be moved before copying.

Digits 1-9 move the selected images to the first nine categories, 0 to uncertain; the right
click menu and the "Move to..." button offer every category.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sorter.core.model.decide import UNCERTAIN
from sorter.gui.category_picker import digit_index
from sorter.gui.pages import plural
from sorter.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)

PATH_ROLE = Qt.ItemDataRole.UserRole


class CategoryImages(QDialog):
    """The images the preview would copy into one folder; `moved` asks to send some elsewhere."""

    moved = Signal(list, str)  # [Path], the category (or uncertain) they go to

    def __init__(
        self,
        name: str,
        categories: list[str],
        cache: ThumbnailCache,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.name, self.categories, self._cache = name, categories, cache
        self.setWindowTitle(f"Images for {name}")
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.grid.setIconSize(QSize(cache.size, cache.size))
        self.grid.setGridSize(QSize(cache.size + 24, cache.size + 2 * self.fontMetrics().height()))
        self.grid.setWordWrap(True)
        self.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._on_context_menu)
        self.grid.installEventFilter(self)
        self.move_button = QPushButton("Move to...")
        self.move_button.clicked.connect(self._on_move_button_clicked)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addWidget(self.move_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(self.grid, 1)
        layout.addLayout(buttons)
        cache.loaded.connect(self._on_cache_loaded)
        self.resize(6 * (cache.size + 24), 4 * (cache.size + 40))

    def show_images(self, paths: list[Path]) -> None:
        """Fill the grid with `paths` (the plan's images for this folder, in plan order)."""
        self.grid.clear()
        for path in paths:
            item = QListWidgetItem(path.name)
            item.setData(PATH_ROLE, str(path))
            item.setToolTip(str(path))
            self.grid.addItem(item)
            self._set_icon(item)
        self.header.setText(
            f"<b>{plural(len(paths), 'image')}</b> would go to <b>{self.name}</b>. Select and "
            "press 1-9 for a category or 0 for uncertain, or right-click > Move to."
        )
        self.move_button.setEnabled(bool(paths))

    def selected_paths(self) -> list[Path]:
        return [Path(item.data(PATH_ROLE)) for item in self.grid.selectedItems()]

    def move_selected(self, target: str) -> None:
        paths = self.selected_paths()
        if paths and target != self.name:
            self.moved.emit(paths, target)

    def targets(self) -> list[str]:
        """Where an image can go: every category, then uncertain."""
        return [*self.categories, UNCERTAIN]

    def eventFilter(self, watched, event) -> bool:
        is_key = isinstance(event, QKeyEvent) and event.type() == QKeyEvent.Type.KeyPress
        if watched is self.grid and is_key and self._key_moves(event):
            return True
        return super().eventFilter(watched, event)

    def _key_moves(self, event: QKeyEvent) -> bool:
        if event.key() == Qt.Key.Key_0 and not event.modifiers():
            self.move_selected(UNCERTAIN)
            return True
        index = digit_index(event)
        if index is None or index >= len(self.categories):
            return False
        self.move_selected(self.categories[index])
        return True

    def _menu(self) -> QMenu:
        menu = QMenu(self)
        move_to = menu.addMenu("Move to...")
        for i, name in enumerate(self.targets()):
            key = "0" if name == UNCERTAIN else (str(i + 1) if i < 9 else "")
            action = move_to.addAction(f"{name}\t{key}" if key else name)
            action.setEnabled(name != self.name)
            action.triggered.connect(lambda _=False, n=name: self.move_selected(n))
        return menu

    def _on_context_menu(self, pos) -> None:
        if self.grid.itemAt(pos) is not None:
            self._menu().exec(self.grid.viewport().mapToGlobal(pos))

    def _on_move_button_clicked(self) -> None:
        menu = self._menu().actions()[0].menu()
        menu.exec(self.move_button.mapToGlobal(self.move_button.rect().bottomLeft()))

    def _set_icon(self, item: QListWidgetItem) -> None:
        image = self._cache.get(item.data(PATH_ROLE))
        if image is not None:
            item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _on_cache_loaded(self, path: str) -> None:
        for row in range(self.grid.count()):
            item = self.grid.item(row)
            if item.data(PATH_ROLE) == path:
                self._set_icon(item)
