"""The correction queue window: what waits for retraining, and a background "Retrain" job."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from sorter.core.jobs import Progress
from sorter.gui.pages import format_eta
from sorter.gui.worker import Job, JobError

log = logging.getLogger(__name__)


def run_retrain(
    model_path: str | None, device: str, *, progress: Any = None, cancel: Any = None
) -> Any:
    """Background job: the core's quick retraining from the queue (promotes only if not worse)."""
    from sorter.core.learning.retrain import retrain

    return retrain(model_path, "quick", device=device, progress=progress, cancel=cancel)


class QueueDialog(QDialog):
    """Lists the queued corrections; Retrain runs the core job with progress and Cancel."""

    def __init__(self, corrections: list, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Corrections waiting")
        self.job: Job | None = None
        self.list = QListWidget()
        for c in corrections:
            labels = ", ".join(c.labels) or "none of these"
            name = c.source_path.replace("\\", "/").rsplit("/", 1)[-1]
            self.list.addItem(f"{name}  →  {labels}")
        count = len(corrections)
        self.head = QLabel(f"<b>{count} correction{'s' if count != 1 else ''} waiting</b>")
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        self.status = QLabel(
            "Retraining learns from these corrections, compares the new model with the current "
            "one on images it has not seen, and keeps it only if it is not worse."
        )
        self.status.setWordWrap(True)
        self.table = QPlainTextEdit()
        self.table.setReadOnly(True)
        self.table.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.table.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.retrain_button = self.buttons.addButton(
            "Retrain", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.retrain_button.setEnabled(count > 0)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.head, self.list, self.status, self.bar, self.table, self.buttons):
            layout.addWidget(widget)

    def show_progress(self, p: Progress) -> None:
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))
        eta = f", about {format_eta(p.eta_s)} left" if p.eta_s is not None else ""
        self.status.setText(f"{p.stage}: {p.done} of {p.total or '?'} {p.unit}{eta}")

    def show_result(self, result: Any) -> None:
        self.bar.setVisible(False)
        self.status.setText(result.message)
        self.table.setPlainText("\n".join(result.candidate.table()))
        self.table.setVisible(True)
        self.retrain_button.setEnabled(False)

    def reject(self) -> None:
        if self.job is not None:
            self.job.cancel()  # a cancelled retrain saves nothing
        super().reject()


def open_retrain(window: Any) -> QueueDialog | None:
    """Show the queue (non-blocking); errors reading it become one sentence."""
    from sorter.core.learning.queue import CorrectionQueue

    try:
        corrections = CorrectionQueue().list()
    except Exception as exc:
        window.report_error(JobError.from_exception(exc))
        return None
    dialog = QueueDialog(corrections, window)
    dialog.retrain_button.clicked.connect(lambda: start_retrain(window, dialog))
    window.queue_dialog = dialog
    dialog.open()
    return dialog


def start_retrain(window: Any, dialog: QueueDialog) -> Job:
    """Run the retraining job on the model thread; a promoted model is loaded afterwards."""
    dialog.retrain_button.setEnabled(False)
    dialog.bar.setVisible(True)
    dialog.bar.setRange(0, 0)
    dialog.status.setText("Retraining...")
    job = Job(run_retrain, window.model_path, window.settings.device)
    job.signals.progressed.connect(dialog.show_progress)
    job.signals.finished.connect(lambda result: _on_retrain_finished(window, dialog, result))
    job.signals.failed.connect(lambda error: _on_retrain_failed(window, dialog, error))
    job.signals.cancelled.connect(lambda: window.statusBar().showMessage("Retraining cancelled."))
    dialog.job = job
    return window.runner.start(job)


def _on_retrain_finished(window: Any, dialog: QueueDialog, result: Any) -> None:
    dialog.job = None
    dialog.show_result(result)
    window.refresh_queue()
    window.statusBar().showMessage(result.message, 15000)
    if result.promoted:
        window.model_path = str(result.current_model)
        window.settings.model_path = str(result.current_model)
        window.start_loading_model()
    window.retrain_done.emit(result)


def _on_retrain_failed(window: Any, dialog: QueueDialog, error: JobError) -> None:
    dialog.job = None
    dialog.bar.setVisible(False)
    dialog.status.setText(error.message)
    dialog.retrain_button.setEnabled(True)
    window.report_error(error)
