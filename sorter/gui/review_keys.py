"""The review grid's keys: number keys and the picker toggle labels on the selection, Enter
saves (or opens the correction dialog), Delete says none, Space and arrows move between views."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

from sorter.core.sorting.review_items import ReviewItem, toggle_category
from sorter.gui.category_picker import digit_index, open_picker, picker_text

ENTER_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter}


class ReviewKeysMixin:
    """Key handling of ReviewPage (which supplies review, view, large_view, the item lookups,
    decide(), refresh_items() and the dialog_requested signal)."""

    review: Any
    extra: list[str]

    def _toggle(self, items: list[ReviewItem], category: str) -> None:
        toggle_category(items, category, self.review.exclusive)
        self.refresh_items(items)

    def _pick(self, items: list[ReviewItem], text: str) -> None:
        """Open the picker; the category chosen is toggled on these items."""
        ticked = set.intersection(*(set(current_labels(i)) for i in items))
        anchor = self.large_view if self.large_view_open() else self.view
        self.picker = open_picker(
            anchor, self.all_categories(), text, ticked, lambda name: self._on_picked(items, name)
        )

    def _on_picked(self, items: list[ReviewItem], name: str) -> None:
        if name not in self.all_categories():
            self.extra.append(name)
        self._toggle(items, name)

    def _handle_key(self, event: QKeyEvent, large: bool) -> bool:
        if self.review is None:
            return False
        if large:
            current = self.current_item()
            items = [current] if current is not None else []
        else:
            items = self.selected_items()
        return bool(items) and (self._handle_move(event, large) or self._handle_label(event, items))

    def _handle_move(self, event: QKeyEvent, large: bool) -> bool:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.modifiers() and not large:
            self.show_large()
        elif large and key in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            self.show_grid()
        elif large and key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            self.step(-1 if key == Qt.Key.Key_Left else 1)
        else:
            return False
        return True

    def _handle_label(self, event: QKeyEvent, items: list[ReviewItem]) -> bool:
        key, digit, text = event.key(), digit_index(event), picker_text(event)
        if digit is not None and digit < len(self.review.categories):
            self._toggle(items, self.review.categories[digit])
        elif text is not None:
            self._pick(items, text)
        elif key in ENTER_KEYS:
            self._confirm_or_open(items)
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.decide(items, [[] for _ in items])
        else:
            return False
        return True

    def _confirm_or_open(self, items: list[ReviewItem]) -> None:
        pending = [i for i in items if i.pending is not None]
        if pending:
            self.decide(pending, [list(i.pending) for i in pending])
        else:
            self.dialog_requested.emit(self.current_item() or items[0])


def current_labels(item: ReviewItem) -> list[str]:
    """The labels an image has now: the pending change if any, else its folders."""
    return item.pending if item.pending is not None else item.folders
