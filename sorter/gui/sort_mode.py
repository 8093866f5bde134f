"""How images reach their folders: copy (the default), hard link, or move, with what each means."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

# mode -> (radio text, button verb, past tense, "-ing" form)
MODES = {
    "copy": ("Copy", "Copy", "copied", "Copying"),
    "link": ("Hard link", "Link", "linked", "Linking"),
    "move": ("Move", "Move", "moved", "Moving"),
}
TIPS = {
    "copy": "The photos stay where they are; the sorted folders get copies.",
    "link": "No extra disk space: each sorted file is the photo itself under a second name.",
    "move": "The photos leave their folder and live only in the sorted folders.",
}


def verb(mode: str) -> str:
    return MODES[mode][1]


def past(mode: str) -> str:
    return MODES[mode][2]


def doing(mode: str) -> str:
    return MODES[mode][3]


def mode_note(mode: str, src: str) -> str:
    """What the user should know before a link or move (rich text); nothing for a copy."""
    where = html.escape(src)
    if mode == "move":
        return (
            f"<b>Move takes every photo out of {where}</b>: afterwards it is only in the sorted "
            "folders. <i>Undo this sort</i> puts each one back where it was."
        )
    if mode == "link":
        return (
            "Hard links take no extra space, but a sorted file is the photo itself: editing one "
            "edits the other. On another drive Sorter copies instead."
        )
    return ""


class SortModeRow(QWidget):
    """Three choices, shown with the advanced settings; the note stays visible whenever the
    choice is not a plain copy, so a move is never chosen out of sight."""

    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._src = ""
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        self.choices = QWidget()
        row = QHBoxLayout(self.choices)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Put the images in their folders by:"))
        for mode, (text, *_rest) in MODES.items():
            button = self.buttons[mode] = QRadioButton(text)
            button.setToolTip(TIPS[mode])
            self.group.addButton(button)
            row.addWidget(button)
            button.toggled.connect(lambda on, m=mode: on and self._on_choice(m))
        row.addStretch(1)
        self.icon = QLabel()
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.notice = QWidget()  # icon and note: hidden together for a plain copy
        line = QHBoxLayout(self.notice)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.icon)
        line.addWidget(self.note, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choices)
        layout.addWidget(self.notice)
        self.buttons["copy"].setChecked(True)
        self.set_expanded(False)

    def mode(self) -> str:
        return next(m for m, b in self.buttons.items() if b.isChecked())

    def set_mode(self, mode: str) -> None:
        self.buttons[mode if mode in MODES else "copy"].setChecked(True)
        self._show_note()

    def set_source(self, src: str) -> None:
        self._src = src
        self._show_note()

    def set_expanded(self, shown: bool) -> None:
        self.choices.setVisible(shown)

    def _on_choice(self, mode: str) -> None:
        self._show_note()
        self.changed.emit(mode)

    def _show_note(self) -> None:
        mode = self.mode()
        text = mode_note(mode, self._src)
        self.note.setText(text)
        self.notice.setVisible(bool(text))
        kind = "SP_MessageBoxWarning" if mode == "move" else "SP_MessageBoxInformation"
        side = self.fontMetrics().height() * 3 // 2
        icon = self.style().standardIcon(getattr(QStyle.StandardPixmap, kind))
        self.icon.setPixmap(icon.pixmap(side, side))
