"""Category keys shared by the grid, the large view and the correction dialog, and the picker.

Digits 1-9 toggle the first nine categories; a letter (or "/") opens a type-to-filter list of
every category, where Enter picks the highlighted one or makes a new category of the text typed.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

DIGIT_KEYS = {getattr(Qt.Key, f"Key_{n}"): n - 1 for n in range(1, 10)}
_COMMAND_MODIFIERS = (
    Qt.KeyboardModifier.ControlModifier
    | Qt.KeyboardModifier.AltModifier
    | Qt.KeyboardModifier.MetaModifier
)
NEW_ROLE = Qt.ItemDataRole.UserRole + 1  # True on the "new category" row


def digit_index(event: QKeyEvent) -> int | None:
    """0-8 for a plain 1-9 (top row or keypad); None for anything else (Alt+1 stays a mnemonic)."""
    if event.modifiers() & _COMMAND_MODIFIERS:
        return None
    return DIGIT_KEYS.get(Qt.Key(event.key()))


def picker_text(event: QKeyEvent) -> str | None:
    """The text a key starts the picker with: a letter itself, "" for "/", else None."""
    text = event.text()
    if event.modifiers() & _COMMAND_MODIFIERS or len(text) != 1:
        return None
    if text == "/":
        return ""
    return text if text.isalpha() else None


def rank(categories: list[str], text: str) -> list[str]:
    """Categories matching `text` (any case): names that start with it, then names with a word
    that starts with it, then (two letters or more) names that contain it; model order within
    each group."""
    needle = text.strip().casefold()
    if not needle:
        return list(categories)
    starts, words, inside = [], [], []
    for name in categories:
        low = name.casefold()
        if low.startswith(needle):
            starts.append(name)
        elif any(w.startswith(needle) for w in low.replace("&", " ").split()):
            words.append(name)
        elif len(needle) > 1 and needle in low:  # one letter inside a word matches too much
            inside.append(name)
    return starts + words + inside


class CategoryPicker(QDialog):
    """A small popup: a filter field over the category list; `picked` says the choice."""

    picked = Signal(str)  # a category name; one not in the list is a new category

    def __init__(
        self,
        categories: list[str],
        parent: QWidget,
        text: str = "",
        ticked: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.categories, self.ticked = categories, ticked
        self.filter = QLineEdit(text)
        self.filter.setPlaceholderText("Type to find a category, or a new name")
        self.filter.textChanged.connect(self._on_filter_text_changed)
        self.filter.installEventFilter(self)
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing always goes to the filter
        self.list.itemClicked.connect(self._on_list_item_clicked)
        hint = QLabel("<small>Enter toggles the highlighted category · Esc closes</small>")
        frame = QFrame()  # a popup has no window frame of its own
        frame.setFrameShape(QFrame.Shape.StyledPanel)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        layout = QVBoxLayout(frame)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(hint)
        em = self.fontMetrics().height()
        self.resize(18 * em, min(24, len(categories) + 5) * em)
        self._refill(text)

    def popup(self, anchor: QWidget) -> None:
        """Show centred over `anchor`, with the cursor in the filter."""
        centre = anchor.mapToGlobal(anchor.rect().center())
        self.move(centre - QPoint(self.width() // 2, self.height() // 2))
        self.show()
        self.filter.setFocus()
        self.filter.end(False)

    def choices(self) -> list[str]:
        """The rows shown now, as their category names."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _refill(self, text: str) -> None:
        self.list.clear()
        for name in rank(self.categories, text):
            number = self.categories.index(name) + 1
            mark = "✓ " if name in self.ticked else ""
            key = f"      key {number}" if number <= 9 else ""
            self._add_row(f"{mark}{name}{key}", name, new=False)
        typed = text.strip()
        if typed and typed.casefold() not in {c.casefold() for c in self.categories}:
            self._add_row(f"+  New category “{typed}”", typed, new=True)
        self.list.setCurrentRow(0)

    def _add_row(self, label: str, name: str, new: bool) -> None:
        row = QListWidgetItem(label)
        row.setData(Qt.ItemDataRole.UserRole, name)
        row.setData(NEW_ROLE, new)
        self.list.addItem(row)

    def _on_filter_text_changed(self, text: str) -> None:
        self._refill(text)

    def _on_list_item_clicked(self, row: QListWidgetItem) -> None:
        self.list.setCurrentItem(row)
        self._choose()

    def _choose(self) -> None:
        row = self.list.currentItem()
        if row is None:
            return
        self.close()
        self.picked.emit(row.data(Qt.ItemDataRole.UserRole))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.filter and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._choose()
                return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                self.list.keyPressEvent(event)  # the list moves, the cursor stays in the filter
                return True
        return super().eventFilter(watched, event)


def open_picker(
    anchor: QWidget, categories: list[str], text: str, ticked: set[str], slot
) -> CategoryPicker:
    """Open the picker over `anchor`; `slot(name)` gets the category chosen."""
    picker = CategoryPicker(categories, anchor.window(), text, ticked)
    picker.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    picker.picked.connect(slot)
    picker.popup(anchor)
    return picker
