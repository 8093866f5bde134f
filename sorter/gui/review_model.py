"""The list model behind the review grid: images, their top scores, pending and saved labels."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QPixmap

from sorter.core.model.decide import UNCERTAIN, UNREADABLE, top_scores
from sorter.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)

ItemRole = Qt.ItemDataRole.UserRole + 1


@dataclass
class ReviewItem:
    """One image under review: where the model put it and what the user says instead."""

    path: Path
    scores: list[float]
    folders: list[str]  # where it is in the output now (categories, or uncertain)
    pending: list[str] | None = None  # labels toggled with number keys, not saved yet
    saved: bool = False

    def why(self, categories: list[str]) -> str:
        """ "chair 0.42, stool 0.38": the scores that explain the decision."""
        return ", ".join(f"{n} {s:.2f}" for n, s in top_scores(self.scores, categories, k=2))

    def score_map(self, categories: list[str]) -> dict[str, float]:
        return dict(zip(categories, self.scores, strict=True))


@dataclass
class ReviewSet:
    """Every reviewable image of one sort, plus the categories in model order."""

    categories: list[str]
    items: list[ReviewItem] = field(default_factory=list)

    def in_folder(self, folder: str) -> list[ReviewItem]:
        """Items shown for a folder choice, least certain first ("" means all)."""
        if folder in ("", None):
            chosen = list(self.items)
        else:
            chosen = [i for i in self.items if folder in i.folders]
        return sorted(chosen, key=lambda i: self._certainty(i, folder))

    def _certainty(self, item: ReviewItem, folder: str) -> float:
        if folder in self.categories:
            return item.scores[self.categories.index(folder)]
        return max(item.scores, default=0.0)

    def folder_counts(self) -> dict[str, int]:
        names = [UNCERTAIN, *self.categories]
        return {n: sum(1 for i in self.items if n in i.folders) for n in names}


def review_set_from(result: Any, decisions: list[list[str]]) -> ReviewSet:
    """Build the review set from a ScoreResult and the folders used for the copy."""
    items = [
        ReviewItem(Path(s.path), list(s.scores), list(chosen))
        for s, chosen in zip(result.scored, decisions, strict=True)
        if s.scores is not None and UNREADABLE not in chosen
    ]
    return ReviewSet(list(result.categories), items)


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
