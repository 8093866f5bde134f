"""The correction dialog: the image large, a checkbox per category with the model's score."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from sorter.core.sorting.review_items import ReviewItem
from sorter.gui.category_picker import digit_index, open_picker, picker_text
from sorter.gui.large_view import FittedImage
from sorter.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)

NAV_KEYS = {Qt.Key.Key_PageUp: -1, Qt.Key.Key_PageDown: 1}
ROWS_PER_COLUMN = 10  # more categories than this: a second (third...) column, not a scroll

Step = Callable[[ReviewItem, int], "ReviewItem | None"]


class CorrectionDialog(QDialog):
    """Tick what the image really shows; Save fixes the output and queues the image.

    Digits 1-9 toggle the first nine categories, a letter or "/" opens the category picker;
    with `step`, Previous and Next (Page Up / Page Down) move through the grid's images, each
    left with its ticks as a pending change (Enter in the grid saves it). `exclusive` (a
    single-label model, one folder per image): ticking a category unticks the others.
    """

    def __init__(
        self,
        item: ReviewItem,
        categories: list[str],
        large: ThumbnailCache,
        parent: QWidget | None = None,
        extra: list[str] = (),
        step: Step | None = None,
        exclusive: bool = False,
    ) -> None:
        super().__init__(parent)
        self.item = item
        self.exclusive = exclusive
        self._showing = False  # set while _show_item ticks an image's folders
        self.categories = list(categories)
        self._large, self._step = large, step
        self.image_label = FittedImage()
        self.image_label.setMinimumSize(large.size // 3, large.size // 3)
        self.path_label = QLabel()
        self.checks: dict[str, QCheckBox] = {}
        self._captions: dict[str, str] = {}
        self._checks_box = QGridLayout()
        names = [*self.categories, *extra]
        columns = -(-len(names) // ROWS_PER_COLUMN) or 1
        self._rows = -(-len(names) // columns) or 1
        self._placed = len(names)
        for name in names:
            self._add_check(name, False)
        self._make_new_category_row()
        self._make_buttons()
        self._lay_out()
        large.loaded.connect(self._on_large_loaded)
        self._show_item()
        self._fit_checks()

    def _make_new_category_row(self) -> None:
        self.new_category = QLineEdit()
        self.new_category.setPlaceholderText("new category...")
        self.new_category.installEventFilter(self)
        self.add_button = QPushButton("Add")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._on_new_category_return_pressed)

    def _make_buttons(self) -> None:
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.none_button = self.buttons.addButton(
            "None of these", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.none_button.clicked.connect(self._on_none_button_clicked)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.previous_button = self._nav_button("← Previous", Qt.Key.Key_PageUp, -1)
        self.next_button = self._nav_button("Next →", Qt.Key.Key_PageDown, 1)

    def _nav_button(self, text: str, key: Qt.Key, delta: int) -> QPushButton:
        button = QPushButton(text)
        button.setAutoDefault(False)
        shortcut = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
        button.setToolTip(f"{shortcut}: the ticks stay as a change that Enter in the grid saves")
        button.setVisible(self._step is not None)
        button.clicked.connect(lambda: self.go(delta))
        return button

    def _lay_out(self) -> None:
        side = QVBoxLayout()
        side.addWidget(QLabel("<b>What does this image show?</b>"))
        if self.exclusive:
            side.addWidget(QLabel("One category: this model puts each image in one folder."))
        side.addLayout(self._checks_box)
        row = QHBoxLayout()
        row.addWidget(self.new_category, 1)
        row.addWidget(self.add_button)
        side.addLayout(row)
        verb = "picks" if self.exclusive else "toggle"
        keys = f"1-9 {verb} · a letter or / finds any category"
        if self._step is not None:
            keys += " · Page Up/Down: previous/next image"
        side.addWidget(QLabel(f"<small>{keys}</small>"))
        side.addStretch(1)
        self._side = QWidget()
        self._side.setLayout(side)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self._side)
        body = QHBoxLayout()
        body.addWidget(self.image_label, 3)
        body.addWidget(self.scroll, 2)
        bottom = QHBoxLayout()
        bottom.addWidget(self.previous_button)
        bottom.addWidget(self.next_button)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(self.path_label)
        layout.addLayout(bottom)

    def _fit_checks(self) -> None:
        """Tall and wide enough that every category shows without scrolling (screen allowing)."""
        screen = (self.screen() or QApplication.primaryScreen()).availableGeometry()
        self._checks_box.invalidate()  # the captions just got their scores: measure anew
        self._side.layout().invalidate()
        hint = self._side.sizeHint()
        bar = self.scroll.verticalScrollBar().sizeHint().width()
        self.scroll.setMinimumHeight(min(hint.height() + 4, screen.height() * 3 // 4))
        self.scroll.setMinimumWidth(min(hint.width() + bar + 4, screen.width() * 3 // 5))
        parent = self.parentWidget()
        if parent is not None:  # the image as large as most of the window allows
            wanted = (parent.size() * 0.85).expandedTo(self.sizeHint())
            self.resize(wanted.boundedTo(screen.size()))

    def labels(self) -> list[str]:
        """The ticked categories, in the order shown (new ones last)."""
        return [name for name, box in self.checks.items() if box.isChecked()]

    def _add_check(self, name: str, checked: bool) -> QCheckBox:
        n = len(self.checks)
        self._captions[name] = (f"&{n + 1} " if n < 9 else "") + name.replace("&", "&&")
        box = QCheckBox(self._captions[name])
        box.toggled.connect(lambda on, name=name: self._on_box_toggled(name, on))
        box.setChecked(checked)  # a category made here: the only one ticked, when exclusive
        self.checks[name] = box
        if n < self._placed:  # column by column
            self._checks_box.addWidget(box, n % self._rows, n // self._rows)
        else:  # made here: below the others
            self._checks_box.addWidget(box, self._rows + n - self._placed, 0)
        return box

    def _on_box_toggled(self, name: str, on: bool) -> None:
        if on and self.exclusive and not self._showing:
            for other, box in self.checks.items():
                if other != name:
                    box.setChecked(False)

    def _caption(self, name: str, scores: dict[str, float]) -> str:
        score = f"{scores[name]:.2f}" if name in scores else "new"
        return f"{self._captions[name]}   ({score})"

    # --- which image ----------------------------------------------------------------------------
    def _show_item(self) -> None:
        item = self.item
        self.setWindowTitle(f"Correct {item.path.name}")
        self.path_label.setText(f"<small>{html.escape(str(item.path))}</small>")
        current = item.pending if item.pending is not None else item.folders
        scores = item.score_map(self.categories)
        self._showing = True  # an image an earlier version put in two folders shows both
        for name, box in self.checks.items():
            box.setChecked(name in current)
            box.setText(self._caption(name, scores))
        self._showing = False
        self._show_image()

    def go(self, delta: int) -> None:
        """Move to the grid's image `delta` rows away; the ticks here stay as a pending change."""
        if self._step is None:
            return
        now = self.labels()
        if now != _labels_of(self.item, self.checks):
            self.item.pending = now
        following = self._step(self.item, delta)
        if following is not None:
            self.item = following
            self._show_item()

    # --- keys -----------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        digit, text = digit_index(event), picker_text(event)
        names = list(self.checks)
        if event.key() in NAV_KEYS:  # handled here, not as shortcuts: any focused child works
            self.go(NAV_KEYS[event.key()])
        elif digit is not None and digit < len(names):
            self._toggle(names[digit])
        elif text is not None:
            ticked = set(self.labels())
            self.picker = open_picker(self.scroll, names, text, ticked, self._on_picked)
        else:
            super().keyPressEvent(event)

    def _toggle(self, name: str) -> None:
        box = self.checks[name]
        box.setChecked(not box.isChecked())
        self.scroll.ensureWidgetVisible(box)

    def _on_picked(self, name: str) -> None:
        if name in self.checks:
            self._toggle(name)
        else:
            box = self._add_check(name, True)
            box.setText(self._caption(name, {}))
            self.scroll.ensureWidgetVisible(box)

    def _on_new_category_return_pressed(self) -> None:
        name = self.new_category.text().strip()
        if not name:
            return
        if name in self.checks:
            self.checks[name].setChecked(True)
        else:
            self._add_check(name, True).setText(self._caption(name, {}))
        self.new_category.clear()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Enter in the "new category" field adds the category; it must not also save.
        if (
            watched is self.new_category
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self._on_new_category_return_pressed()
            return True
        return super().eventFilter(watched, event)

    def _on_none_button_clicked(self) -> None:
        for box in self.checks.values():
            box.setChecked(False)
        self.accept()

    def _show_image(self) -> None:
        image = self._large.get(self.item.shown)
        self.image_label.set_image(QPixmap.fromImage(image) if image is not None else None)

    def _on_large_loaded(self, path: str) -> None:
        if path == str(self.item.shown):
            self._show_image()


def _labels_of(item: ReviewItem, checks: dict[str, QCheckBox]) -> list[str]:
    current = item.pending if item.pending is not None else item.folders
    return [name for name in checks if name in current]
