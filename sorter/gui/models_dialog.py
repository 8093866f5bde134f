"""*Model > Manage models...*: every model Sorter keeps, to use, rename, copy out, add or delete.

Each retrain and each model trained from examples is stored as a version (about 330 KB from
quick mode, 33 MB fine-tuned); this is where the user sees them side by side (how each was
made, how often it put images in exactly their own folder, its size), deletes the ones they no
longer want, and moves one to another computer (Save a copy... here, Add a model file...
there). The model in use and the built-in one cannot be deleted; photos a deleted model sorted
are never touched.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sorter.core.learning.versions import DEFAULT
from sorter.gui.pages import plural
from sorter.gui.tables import set_up_read_only
from sorter.gui.versions_menu import ask_model_name, switch_version
from sorter.gui.worker import Job, JobError, JobRunner

log = logging.getLogger(__name__)

COLUMNS = ("Model", "Name", "Made", "How", "Right", "Categories", "Size")
COLUMN_TIPS = (
    "The version number: the Model menu and the status bar use it",
    "A name of your own (Rename...)",
    "The day it was made",
    "How it was made",
    "The share of images it put in exactly their own folder, on the images its training "
    "could judge it by (point at a figure to see which)",
    "How many categories it knows (point at it to see them)",
    "Space it takes on disk",
)
INTRO = (
    "Every model Sorter keeps; the one in use is in bold. A deleted model cannot be brought "
    "back, but the photos it sorted and the corrections it learned from stay as they are."
)
# What the figure of a version was measured on (versions.py's "evaluated_on" values)
MEASURED_ON = {
    "original validation": "its training images, each scored by a model trained without it",
    "kept images": "photos of earlier sorts you kept",
    "held-out corrections": "your corrections",
    "example photos": "its example photos, each scored by a model trained without it",
    "held-out example photos": "example photos held out of its training",
}


def load_versions() -> list[Any]:
    """Background job: every version, the built-in one first (reading it loads its weights)."""
    from sorter.core.learning.versions import list_versions

    return list_versions()


def version_cells(version: Any) -> tuple[list[str], list[str]]:
    """(texts, tooltips) of a version's row."""
    from sorter.core.learning.manage import size_text

    builtin = version.name == DEFAULT
    exact, images = version.metrics.get("exact_match"), version.metrics.get("images")
    right, right_tip = "-", ""
    if isinstance(exact, int | float):
        right = f"{exact:.0%}"
        on = MEASURED_ON.get(str(version.metrics.get("evaluated_on")), "its validation images")
        right_tip = f"Measured on {plural(images, 'image')}: {on}" if images else on
    texts = [
        version.name + ("  (in use)" if version.current else ""),
        "Built-in" if builtin else version.title,
        "-" if builtin else version.created[:10],
        "comes with Sorter" if builtin else version.note,
        right,
        str(len(version.categories)) if version.categories else "-",
        "-" if builtin else size_text(version.size_bytes),
    ]
    tips = ["", "", version.created, version.note, right_tip, ", ".join(version.categories), ""]
    return texts, tips


class ModelsDialog(QDialog):
    """The models table with Use, Rename..., Delete... and Close."""

    def __init__(self, window: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self.setObjectName("models_dialog")
        self.setWindowTitle("Models")
        self.window_ = window
        # its own thread: listing, deleting and copying never wait behind a sort's copying
        self.runner = JobRunner(self)
        self.versions: list[Any] = []
        self._added: str | None = None  # a version just added: selected when listed
        self.confirm: QMessageBox | None = None
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.table = self._build_table()
        self.status = QLabel("Reading the models...")
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addWidget(self._build_buttons())
        em = self.fontMetrics().height()
        self.resize(64 * em, 22 * em)
        self._update_buttons()

    def _build_table(self) -> QTableWidget:
        table = QTableWidget()
        set_up_read_only(table, COLUMNS, COLUMN_TIPS)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setWordWrap(False)
        header = table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)  # "How": the long one
        table.itemSelectionChanged.connect(self._update_buttons)
        table.itemDoubleClicked.connect(lambda _item: self.use_selected())
        return table

    def _build_buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox()
        self.add_button = QPushButton("Add a model file...")
        self.add_button.setToolTip(
            "Keep a copy of a Sorter model file (e.g. one saved on another computer) as one "
            "of your models"
        )
        self.use_button = QPushButton("Use")
        self.rename_button = QPushButton("Rename...")
        self.copy_button = QPushButton("Save a copy...")
        self.copy_button.setToolTip(
            "Save the model as a file for another computer, where Add a model file... keeps it"
        )
        self.delete_button = QPushButton("Delete...")
        for button, slot in (
            (self.add_button, self.add_file),
            (self.use_button, self.use_selected),
            (self.rename_button, self.rename_selected),
            (self.copy_button, self.copy_selected),
            (self.delete_button, self.delete_selected),
        ):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
            button.clicked.connect(slot)
            button.setAutoDefault(False)  # Enter never opens a file dialog or deletes
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.setDefault(True)
        self.close_button.clicked.connect(self.reject)
        return buttons

    # --- the list ----------------------------------------------------------------------------
    def refresh(self) -> Job:
        """Read the versions off the GUI thread, then fill the table (keeping the selection)."""
        job = Job(load_versions, with_progress=False)
        job.signals.finished.connect(self._fill)
        job.signals.failed.connect(self._on_failed)
        return self.runner.start(job)

    def _fill(self, versions: list[Any]) -> None:
        from sorter.core.learning.manage import size_text

        selected = self.selected()
        # the row chosen before the refresh, else the model in use: buttons never start dead
        keep = selected.name if selected is not None else self._added
        keep = keep or next((v.name for v in versions if v.current), None)
        self._added = None
        self.versions = versions
        self.table.setRowCount(len(versions))
        for row, version in enumerate(versions):
            texts, tips = version_cells(version)
            for column, (text, tip) in enumerate(zip(texts, tips, strict=True)):
                item = QTableWidgetItem(text)
                item.setToolTip(tip)
                if version.current:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                if column in (4, 5, 6):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, column, item)
            if version.name == keep:
                self.table.selectRow(row)
        stored = [v for v in versions if v.name != DEFAULT]
        total = sum(v.size_bytes for v in stored)
        self.status.setText(
            f"{plural(len(stored), 'model')} of your own, {size_text(total)} in all."
            if stored
            else "No models of your own yet: train one from example photos, or retrain."
        )
        self._update_buttons()

    def _on_failed(self, error: JobError) -> None:
        self.status.setText(f"Could not read the models: {error.message}")
        self._update_buttons()

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.versions[rows[0].row()] if rows and self.versions else None

    def selected_own(self) -> Any:
        """The selected version when it is one of the user's (not the built-in model)."""
        version = self.selected()
        return version if version is not None and version.name != DEFAULT else None

    def _update_buttons(self) -> None:
        version = self.selected()
        own = self.selected_own() is not None
        self.use_button.setEnabled(version is not None and not version.current)
        self.rename_button.setEnabled(own)
        self.copy_button.setEnabled(own)
        self.delete_button.setEnabled(own and not version.current)
        if own and version.current:
            self.delete_button.setToolTip("The model in use cannot be deleted: use another first")
        elif version is not None and not own:
            self.delete_button.setToolTip("The built-in model is part of Sorter")
        else:
            self.delete_button.setToolTip("")

    # --- the actions ---------------------------------------------------------------------------
    def use_selected(self) -> Job | None:
        version = self.selected()
        if version is None or version.current:
            return None
        return switch_version(self.window_, version.name, done=self.refresh)

    def rename_selected(self) -> QDialog | None:
        version = self.selected_own()
        if version is None:
            return None
        return ask_model_name(self.window_, version.name, version.title, self, self.refresh)

    def add_file(self) -> Job | None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Add a Sorter model file", str(Path.home()), "Sorter models (*.pth)"
        )
        if not path:
            return None

        from sorter.core.learning.manage import add_model_file

        def finished(result: Any) -> None:
            version, added = result
            self.window_.statusBar().showMessage(
                f"Added {Path(path).name} as model {version.name}: Use puts it to work."
                if added
                else f"{Path(path).name} is model {version.name} already: nothing was added.",
                15000,
            )
            self.table.clearSelection()
            self._added = version.name  # selected once the list is read again
            self.refresh()

        return self._start(finished, add_model_file, Path(path))

    def copy_selected(self) -> Job | None:
        from sorter.core.learning.manage import export_version
        from sorter.core.sorting.names import safe_file_name

        version = self.selected_own()
        if version is None:
            return None
        start = Path.home() / safe_file_name(
            f"{version.title or 'Sorter model ' + version.name}.pth"
        )
        path, _ = QFileDialog.getSaveFileName(
            self, f"Save a copy of model {version.name}", str(start), "Sorter models (*.pth)"
        )
        if not path:
            return None
        dest = Path(path)

        def finished(saved: Path) -> None:
            self.window_.statusBar().showMessage(
                f"Saved a copy of model {version.name}: {saved}", 15000
            )

        # the save dialog has asked before replacing a file of that name
        return self._start(finished, export_version, version.name, dest, True)

    def delete_selected(self) -> QMessageBox | None:
        from sorter.core.learning.manage import size_text

        version = self.selected_own()
        if version is None or version.current:
            return None
        named = f" (“{version.title}”)" if version.title else ""
        box = self.confirm = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete model",
            f"Delete model {version.name}{named}? It frees {size_text(version.size_bytes)} and "
            "cannot be brought back. Photos it sorted are not touched.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(
            lambda button: self._delete(version.name) if button is delete else None
        )
        box.open()
        return box

    def _delete(self, name: str) -> Job:
        from sorter.core.learning.manage import delete_version

        def finished(version: Any) -> None:
            self.window_.statusBar().showMessage(f"Deleted model {version.name}.", 10000)
            self.refresh()

        return self._start(finished, delete_version, name)

    def _start(self, finished: Any, fn: Any, *args: Any) -> Job:
        """Run a core function on the dialog's thread; `finished` gets its result, and a
        failure is reported as the window reports any."""
        job = Job(fn, *args, with_progress=False)
        job.signals.finished.connect(finished)
        job.signals.failed.connect(self.window_.report_error)
        return self.runner.start(job)


def open_models_dialog(window: Any) -> ModelsDialog:
    dialog = window.models_dialog = ModelsDialog(window)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()
    dialog.refresh()
    return dialog
