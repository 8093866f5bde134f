"""The new-model dialog's texts: what it found in the examples folder, what the model learned
and expects (HTML), and its per-category table."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from sorter.core.text import some_of
from sorter.gui.pages import format_eta, plural
from sorter.gui.tables import set_up_read_only

LISTED = 8  # names in a list before "and N more": categories found, photos not read
COLUMNS = ("Category", "Example photos", "Right when placed", "Found")
COLUMN_TIPS = (
    "",
    "Photos of this category in the examples folder",
    "Of the example photos the model put in this category (each scored by a model trained "
    "without it), the share that belong there",
    "Of this category's example photos, the share the model put in it (the rest went to "
    "uncertain or elsewhere)",
)


def few_warnings(data: Any) -> list[str]:
    """The warning training gives a category with too few photos, said before it starts."""
    from sorter.core.training.crossval import few_image_warnings

    return few_image_warnings(data.counts())


def found_text(data: Any) -> str:
    """ "6 categories, 69 photos: animals (12), clothes (10), ..." """
    counts = data.counts()
    listed = some_of([f"{name} ({n})" for name, n in counts.items()], LISTED)
    photos = plural(len(data.items), "photo")
    text = f"{plural(len(counts), 'category', 'categories')}, {photos}: {listed}."
    if data.unlabelled:
        text += (
            f" {plural(data.unlabelled, 'photo')} in “uncertain”: examples of none of them, so "
            "the model may put a photo in several folders, or in none."
        )
    return text


def result_html(result: Any) -> str:
    """What the trained model learned, the cross-validation's expectations (a small table) and
    its notes."""
    from sorter.core.training.options import TrainOptions
    from sorter.core.training.report import estimate_rows
    from sorter.core.training.train import kind_note

    training = result.meta.training
    learned = plural(len(result.meta.categories), "category", "categories")
    parts = [
        f"<p><b>The new model learned {learned} from {plural(training['images'], 'photo')}</b> "
        f"in {format_eta(result.seconds)}.</p>"
    ]
    heading, rows = estimate_rows(training)
    if rows:
        cells = "".join(
            f"<tr><td align='right'><b>{_text(figure)}</b></td>"
            f"<td>&nbsp;&nbsp;{_text(words)}</td></tr>"
            for figure, words in rows
        )
        parts.append(f"<p>{_text(heading)}</p><table>{cells}</table>")
    kind = kind_note(result.data, TrainOptions(), result.meta.exclusive)  # the window's options
    parts.append(f"<p>{_text(kind)}</p>")
    parts += [f"<p>Note: {_text(warning)}</p>" for warning in result.warnings]
    skipped = result.data.skipped  # found while training: reading a folder opens no image
    if skipped:
        names = some_of([path.name for path, _ in skipped], LISTED)
        parts.append(
            f"<p>Note: {plural(len(skipped), 'photo')} could not be read and "
            f"{'was' if len(skipped) == 1 else 'were'} left out: {_text(names)}.</p>"
        )
    return "".join(parts)


class CategoryTable(QTableWidget):
    """Per category: example photos, right when placed, found (header tooltips say how)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        set_up_read_only(self, COLUMNS, COLUMN_TIPS)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    def fill(self, result: Any) -> None:
        """One row per category: photos, precision and recall out of fold."""
        counts = result.meta.training["image_counts"]
        details = (result.report.get("evaluation") or {}).get("categories", {})
        self.setRowCount(len(counts))
        for row, (name, count) in enumerate(counts.items()):
            figures = details.get(name) or {}
            cells = (
                name,
                str(count),
                _share(figures.get("precision")),
                _share(figures.get("recall")),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.setItem(row, column, item)
        self.resizeRowsToContents()
        frame = 2 * self.frameWidth()
        rows = sum(self.rowHeight(r) for r in range(self.rowCount()))
        height = self.horizontalHeader().height() + rows + frame
        shown = min(height, self.fontMetrics().height() * 16)  # a long list scrolls
        self.setMinimumHeight(shown)
        self.setMaximumHeight(height)  # no empty grid under the rows


def _text(plain: str) -> str:
    """Plain text inside rich text."""
    return html.escape(plain, quote=False)


def _share(value: Any) -> str:
    return "-" if value is None else f"{value:.0%}"
