"""The read-only tables of Sorter's dialogs: one way to set their headers up."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractItemView, QTableWidget


def set_up_read_only(table: QTableWidget, columns: Sequence[str], tips: Sequence[str]) -> None:
    """Column headers with a tooltip each, no row numbers, nothing editable."""
    table.setColumnCount(len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    for column, tip in enumerate(tips):
        table.horizontalHeaderItem(column).setToolTip(tip)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
