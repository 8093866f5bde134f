"""File menu entries for the core's model import commands, offered only when they exist."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from sorter.core.model.arch_names import SINGLE_ARCHS
from sorter.gui.worker import Job

log = logging.getLogger(__name__)

TRUST_WARNING = (
    "Opening a fastai export runs code stored inside the file. Only continue if you made the "
    "file yourself or trust the person who gave it to you."
)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def import_actions(window: Any) -> list[tuple[str, Callable[[], None]]]:
    """(menu text, slot) pairs for import commands this version's core provides."""
    actions: list[tuple[str, Callable[[], None]]] = []
    if _has_module("sorter.core.model.import_learner"):
        actions.append(("Import a fastai export (.pkl)...", lambda: import_learner_file(window)))
    if _has_module("sorter.core.model.weights_import"):
        actions.append(("Import fastai weights (.pth)...", lambda: import_weights_file(window)))
    return actions


def _save_path(window: Any, source: Path) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(
        window, "Save the Sorter model as", str(source.with_suffix(".sorter.pth")), "*.pth"
    )
    return Path(path) if path else None


def import_learner_file(window: Any) -> Job | None:
    """Ask for a fastai export, warn that it runs code, convert it in the background, use it."""
    path, _ = QFileDialog.getOpenFileName(
        window, "Import a fastai export", str(Path.home()), "fastai exports (*.pkl)"
    )
    if not path:
        return None
    answer = QMessageBox.warning(
        window,
        "Trust this file?",
        TRUST_WARNING,
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
    )
    out = _save_path(window, Path(path)) if answer == QMessageBox.StandardButton.Open else None
    if out is None:
        return None

    def run() -> Path:
        from sorter.core.model.import_learner import import_learner

        import_learner(Path(path), out)
        return out

    return _start_import(window, Job(run, with_progress=False))


class WeightsDialog(QDialog):
    """Architecture and category names for bare weights (what the file itself does not say)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import fastai weights")
        self.arch = QComboBox()
        self.arch.addItems(list(SINGLE_ARCHS))
        self.categories = QLineEdit()
        self.categories.setPlaceholderText("chair, table, lamp (in the model's output order)")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Architecture:", self.arch)
        form.addRow("Categories:", self.categories)
        form.addRow(buttons)

    def category_names(self) -> list[str]:
        return [c.strip() for c in self.categories.text().split(",") if c.strip()]


def import_weights_file(window: Any) -> Job | None:
    """Ask for weights, their architecture and categories; convert in the background; use it."""
    path, _ = QFileDialog.getOpenFileName(
        window, "Import fastai weights", str(Path.home()), "Weights (*.pth *.pt)"
    )
    if not path:
        return None
    dialog = WeightsDialog(window)
    if not dialog.exec():
        return None
    out = _save_path(window, Path(path))
    if out is None:
        return None
    arch, names = dialog.arch.currentText(), dialog.category_names()

    def run() -> Path:
        from sorter.core.model.weights_import import import_weights

        return import_weights(path, arch, names, out)

    return _start_import(window, Job(run, with_progress=False))


def _start_import(window: Any, job: Job) -> Job:
    window.statusBar().showMessage("Importing the model...")
    job.signals.finished.connect(lambda out: window.use_model_file(str(out)))
    job.signals.failed.connect(window.report_error)
    return window.runner.start(job)
