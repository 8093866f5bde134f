"""The list model behind the review grid: images, their top scores, pending and saved labels."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from sorter.core.sorting.review_items import ReviewItem

log = logging.getLogger(__name__)

ItemRole = Qt.ItemDataRole.UserRole + 1
ScoresRole = Qt.ItemDataRole.UserRole + 2  # "cats 0.42 · dogs 0.38"
BadgeRole = Qt.ItemDataRole.UserRole + 3  # (kind, text); kind: pending, saved, folder or ""

PENDING, SAVED, FOLDER = "pending", "saved", "folder"


def badge(item: ReviewItem, show_folders: bool = False) -> tuple[str, str]:
    """What a tile says under its scores: the change Enter will save, the saved labels, or
    (when images of every folder are shown) where the image is now."""
    if item.pending is not None:
        return PENDING, "→ " + (", ".join(item.pending) or "none of these")
    if item.saved:
        return SAVED, "✓ " + (", ".join(item.folders) or "none of these")
    if show_folders:
        return FOLDER, "in " + ", ".join(item.folders)
    return "", ""


class ReviewListModel(QAbstractListModel):
    """Items shown in the grid; the tile delegate paints them and asks for thumbnails."""

    def __init__(self, categories: list[str], parent=None) -> None:
        super().__init__(parent)
        self.categories = categories
        self.items: list[ReviewItem] = []
        self.show_folders = False
        self._rows: dict[str, int] = {}

    def set_items(self, items: list[ReviewItem], categories: list[str], show_folders=False) -> None:
        self.beginResetModel()
        self.items = items
        self.categories = categories
        self.show_folders = show_folders
        self._rows = {str(item.path): row for row, item in enumerate(items)}
        self.note_pictures(items)
        self.endResetModel()

    def note_pictures(self, items: list[ReviewItem]) -> None:
        """Thumbnails arrive under the file they were read from: after a move, the copy."""
        for item in items:
            row = self._rows.get(str(item.path))
            if row is not None and item.picture is not None:
                self._rows[str(item.picture)] = row

    def row_of(self, item: ReviewItem | str) -> int | None:
        return self._rows.get(str(getattr(item, "path", item)))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        item = self.items[index.row()]
        if role == ItemRole:
            return item
        if role == ScoresRole:
            return item.why(self.categories).replace(", ", " · ")
        if role == BadgeRole:
            return badge(item, self.show_folders)
        if role == Qt.ItemDataRole.DisplayRole:  # what screen readers and type-ahead get
            return f"{item.path.name}\n{self._status(item)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(item)
        return None

    def _status(self, item: ReviewItem) -> str:
        kind, text = badge(item)
        if kind == PENDING:
            return f"{text} (Enter saves)"
        return text or item.why(self.categories)

    def _tooltip(self, item: ReviewItem) -> str:
        scores = sorted(item.score_map(self.categories).items(), key=lambda p: -p[1])
        lines = [item.path.name, str(item.path.parent), "in " + ", ".join(item.folders)]
        lines.append("  ".join(f"{n} {s:.2f}" for n, s in scores[:5]))
        kind, text = badge(item)
        if kind:
            lines.append(f"{text} (Enter saves)" if kind == PENDING else text)
        return "\n".join(lines)
