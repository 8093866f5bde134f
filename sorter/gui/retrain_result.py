"""What a retrain produced: the before/after table, the verdict, and the choice to use it."""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sorter.gui.tables import set_up_read_only

log = logging.getLogger(__name__)

COLUMNS = ("Evaluated on", "images", "current model", "new model")

Row = tuple[str, str, str, str]


def _right(comp: Any, side: str) -> int:
    """Images sorted into exactly their right folders by one side (the flips when measured)."""
    flips = getattr(comp, "flips", None)
    if flips is not None:
        return flips.old_right if side == "old" else flips.new_right
    exact = getattr(comp, side).exact_match
    return 0 if math.isnan(exact) else round(exact * comp.images)


def _percent(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.0%}"


def comparison_rows(comparisons: Sequence[Any]) -> list[Row]:
    """Table rows: per evaluation set, its images right, decisions right and uncertain ones."""
    rows: list[Row] = []
    for comp in comparisons:
        if not comp.images:
            continue
        title = comp.name[:1].upper() + comp.name[1:] + (f" ({comp.note})" if comp.note else "")
        n = comp.images
        rows.append((title, str(n), "", ""))
        rows.append(
            ("    in exactly their right folders", "", str(_right(comp, "old")),
             str(_right(comp, "new")))
        )  # fmt: skip
        rows.append(
            ("    category decisions right", "", _percent(comp.old.accuracy_multi),
             _percent(comp.new.accuracy_multi))
        )  # fmt: skip
        rows.append(
            ("    would go to uncertain", "", str(comp.old.uncertain), str(comp.new.uncertain))
        )
    return rows


def _called(version: str, path: Any) -> str:
    """ "v3", or "v3 (Shop stock)" when the user named the model it was retrained from."""
    from sorter.core.learning.versions import with_title

    return html.escape(with_title(version, path))


def gui_reason(reason: str) -> str:
    """The core's reason, set for the window: "1 -> 3" never splits."""
    return reason.replace(" -> ", "\u00a0→\u00a0").rstrip(". ")


class ResultTable(QTableWidget):
    """The before/after figures as a table: one column per model, nothing wrapped."""

    def __init__(self, rows: list[Row], parent: QWidget | None = None) -> None:
        super().__init__(len(rows), len(COLUMNS), parent)
        set_up_read_only(self, COLUMNS, ())
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # nothing to edit: no highlighted cell
        self.setWordWrap(False)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                elif not text.startswith(" "):
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(r, c, item)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.resizeColumnsToContents()
        height = self.horizontalHeader().height() + 2 * self.frameWidth()
        self.setFixedHeight(height + sum(self.rowHeight(r) for r in range(len(rows))))

    def cell(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item is not None else ""


class RetrainResultDialog(QDialog):
    """The retrain's outcome. Not chosen: the reason, "Use the new model anyway" and
    "Keep the current model"; chosen: which version is now in use."""

    use_anyway_requested = Signal(object)  # the Candidate

    def __init__(self, result: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("retrain_result")
        self.setWindowTitle("Retraining finished")
        self.result = result
        candidate = result.candidate
        self.headline = QLabel(self._headline_text(result))
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.table = ResultTable(comparison_rows(candidate.comparisons))
        self.notes = QLabel(" ".join(getattr(candidate, "notes", []) or []))
        self.notes.setWordWrap(True)
        self.notes.setVisible(bool(self.notes.text()))
        self.buttons = QDialogButtonBox()
        self.use_button = self.keep_button = None
        self.sort_again_button: QPushButton | None = None
        if result.promoted:
            self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        else:
            self._add_choice_buttons()
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.headline, self.table, self.notes, self.buttons):
            layout.addWidget(widget)
        em = self.fontMetrics().height()
        self.resize(46 * em, self.sizeHint().height())

    def show_in_use(self, version: str, path: str | None = None) -> None:
        """After "Use the new model anyway" stored it (as `version`, at `path`): say so; the
        choice buttons go."""
        self.headline.setText(
            f"<b>The new model is in use as {_called(version, path)}.</b><br>"
            "You chose it over the check."
        )
        self.buttons.clear()
        self.use_button = self.keep_button = None
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)

    def offer_sort_again(self, folder: str) -> QPushButton:
        """A button that sorts the last output again with the new model (the caller connects
        it); copies sorted before keep their folders until then."""
        button = self.buttons.addButton(
            f"Sort “{folder}” again", QDialogButtonBox.ButtonRole.ActionRole
        )
        button.setToolTip(
            "Copies sorted before stay in their folders until the folder is sorted again; this "
            "shows what the new model would change there first."
        )
        self.sort_again_button = button
        return button

    def _add_choice_buttons(self) -> None:
        role = QDialogButtonBox.ButtonRole
        self.use_button = self.buttons.addButton("Use the new model anyway", role.AcceptRole)
        self.keep_button = self.buttons.addButton("Keep the current model", role.RejectRole)
        self.keep_button.setDefault(True)
        self.use_button.clicked.connect(self._on_use_button_clicked)

    @staticmethod
    def _headline_text(result: Any) -> str:
        candidate = result.candidate
        reason = html.escape(gui_reason(candidate.reason))
        if result.promoted:
            called = _called(result.version, result.current_model)
            return f"<b>The new model is in use as {called}.</b><br>Why: {reason}."
        return (
            f"<b>The new model was not chosen; {candidate.base_version} stays in use.</b>"
            f"<br>Why: {reason}."
        )

    def _on_use_button_clicked(self) -> None:
        self.use_button.setEnabled(False)
        self.keep_button.setEnabled(False)
        self.headline.setText(f"<b>Storing the new model...</b><br>{self.headline.text()}")
        self.use_anyway_requested.emit(self.result.candidate)
