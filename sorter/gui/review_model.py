"""The list model behind the review grid: images, their top scores, pending and saved labels."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QPixmap

from sorter.core.sorting.session import ReviewItem
from sorter.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)

ItemRole = Qt.ItemDataRole.UserRole + 1


class ReviewListModel(QAbstractListModel):
    """Items shown in the grid; thumbnails are asked for only when the view paints them."""

    def __init__(self, cache: ThumbnailCache, categories: list[str], parent=None) -> None:
        super().__init__(parent)
        self._cache = cache
        self.categories = categories
        self.items: list[ReviewItem] = []
        self._rows: dict[str, int] = {}
        self._placeholder = QPixmap(cache.size, cache.size)
        self._placeholder.fill(QColor(128, 128, 128, 60))
        cache.loaded.connect(self._on_cache_loaded)

    def set_items(self, items: list[ReviewItem], categories: list[str]) -> None:
        self.beginResetModel()
        self.items = items
        self.categories = categories
        self._rows = {str(item.path): row for row, item in enumerate(items)}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        item = self.items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{item.path.name}\n{self._status(item)}"
        if role == Qt.ItemDataRole.DecorationRole:
            image = self._cache.get(item.path)
            return QPixmap.fromImage(image) if image is not None else self._placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            scores = ", ".join(f"{n} {s:.2f}" for n, s in item.score_map(self.categories).items())
            return f"{item.path}\n{scores}"
        if role == ItemRole:
            return item
        return None

    def _status(self, item: ReviewItem) -> str:
        if item.pending is not None:
            return "→ " + (", ".join(item.pending) or "none of these") + " (Enter saves)"
        if item.saved:
            return "✓ " + (", ".join(item.folders) or "none of these")
        return item.why(self.categories)

    def refresh(self, item: ReviewItem) -> None:
        row = self._rows.get(str(item.path))
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def _on_cache_loaded(self, path: str) -> None:
        row = self._rows.get(path)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
