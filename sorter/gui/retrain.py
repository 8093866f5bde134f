"""Retraining from the window: the queue dialog, the background job, its result and choice."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from sorter.gui.pages import plural
from sorter.gui.retrain_result import RetrainResultDialog
from sorter.gui.worker import Job, JobError

log = logging.getLogger(__name__)

KEPT_NOTE = (
    "Copies that earlier sorts placed with confidence, and that you left in their folders, "
    "count as examples of their categories too."
)


def run_retrain(
    model_path: str | None, device: str, *, progress: Any = None, cancel: Any = None
) -> Any:
    """Background job: the core's quick retraining from the queue (promotes only if better)."""
    from sorter.core.learning.retrain import retrain

    return retrain(model_path, "quick", device=device, progress=progress, cancel=cancel)


def run_promote(candidate: Any) -> tuple[str, str]:
    """Background job: store a refused candidate as the current version; (name, model file)."""
    from sorter.core.learning.retrain import promote
    from sorter.core.learning.versions import get_version

    name = promote(candidate)
    return name, str(get_version(name).path)


def learnable_text(corrections: Sequence[Any], known: Sequence[str] = ()) -> str:
    """What a retrain can learn, in plain words: corrections per category, then kept images."""
    counts = Counter(label for c in corrections for label in c.labels)
    nothing = sum(1 for c in corrections if not c.labels)
    parts = [
        f"{name} ({n}{', a new category' if known and name not in known else ''})"
        for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    if nothing:
        parts.append(f"none of these ({nothing})")
    if not parts:
        return f"There are no corrections to learn from yet. {KEPT_NOTE}"
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"Retraining can learn from {plural(len(corrections), 'correction')}: {listed}. " + (
        KEPT_NOTE
    )


class QueueDialog(QDialog):
    """Lists the queued corrections, says what they teach; Retrain starts the background job
    and closes the dialog (closing it never stops a retrain)."""

    retrain_requested = Signal()

    def __init__(
        self,
        corrections: list,
        known: Sequence[str] = (),
        running: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Corrections waiting")
        self.list = QListWidget()
        for c in corrections:
            labels = ", ".join(c.labels) or "none of these"
            name = c.source_path.replace("\\", "/").rsplit("/", 1)[-1]
            self.list.addItem(f"{name}  →  {labels}")
        count = len(corrections)
        self.head = QLabel(f"<b>{count} correction{'s' if count != 1 else ''} waiting</b>")
        self.learn = QLabel(learnable_text(corrections, known))
        self.learn.setWordWrap(True)
        self.status = QLabel(
            "Retraining runs in the background (you can keep sorting), then compares the new "
            "model with the current one on images it did not learn from and offers the result."
        )
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.retrain_button = self.buttons.addButton(
            "Retrain", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.retrain_button.clicked.connect(self.retrain_requested)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.head, self.list, self.learn, self.status, self.buttons):
            layout.addWidget(widget)
        self.set_running(running, count)
        em = self.fontMetrics().height()
        self.resize(34 * em, 30 * em)

    def set_running(self, running: bool, count: int | None = None) -> None:
        count = self.list.count() if count is None else count
        self.retrain_button.setEnabled(count > 0 and not running)
        if running:
            self.status.setText("A retrain is running: its progress is in the status bar.")


def open_retrain(window: Any) -> QueueDialog | None:
    """Show the queue (non-blocking); errors reading it become one sentence."""
    from sorter.core.learning.queue import CorrectionQueue

    try:
        corrections = CorrectionQueue().list()
    except Exception as exc:
        window.report_error(JobError.from_exception(exc))
        return None
    known = list(window.model.categories) if window.model is not None else []
    dialog = QueueDialog(corrections, known, window.retrain_job is not None, window)
    dialog.retrain_requested.connect(lambda: start_retrain(window, dialog))
    window.queue_dialog = dialog
    dialog.open()
    return dialog


def start_retrain(window: Any, dialog: QueueDialog | None = None) -> Job | None:
    """Run the retraining job on its own thread (it reads the model file itself, so sorting
    and review go on with the loaded model); progress and Cancel are in the status bar."""
    if window.retrain_job is not None:
        window.statusBar().showMessage("A retrain is already running.", 6000)
        return None
    job = Job(run_retrain, window.model_path, window.settings.device)
    job.signals.progressed.connect(window.retrain_status.show_progress)
    job.signals.finished.connect(lambda result: _on_retrain_finished(window, result))
    job.signals.failed.connect(lambda error: _on_retrain_failed(window, error))
    job.signals.cancelled.connect(lambda: _on_retrain_cancelled(window))
    window.retrain_job = job
    window.retrain_status.start()
    window.retrain_button.setVisible(False)  # room for the progress; the menus still open it
    if dialog is not None:
        dialog.accept()
    return window.train_runner.start(job)


def cancel_retrain(window: Any) -> None:
    if window.retrain_job is not None:
        window.retrain_job.cancel()  # the core stops at its next check; nothing is saved


def _stopped(window: Any) -> None:
    window.retrain_job = None
    window.retrain_status.stop()
    window.retrain_button.setVisible(True)


def _on_retrain_finished(window: Any, result: Any) -> None:
    _stopped(window)
    window.refresh_queue()
    if result.promoted:
        window.use_model_version(str(result.current_model), result.version)
    else:
        window.statusBar().showMessage(
            f"Retraining finished: {result.candidate.base_version} stays in use.", 15000
        )
    dialog = RetrainResultDialog(result, window)
    dialog.use_anyway_requested.connect(lambda candidate: use_anyway(window, dialog, candidate))
    if dialog.keep_button is not None:
        kept = f"Kept the current model ({result.candidate.base_version})."
        dialog.keep_button.clicked.connect(lambda: window.statusBar().showMessage(kept, 10000))
    if result.promoted:
        _offer_sort_again(window, dialog)
    window.retrain_result_dialog = dialog
    dialog.show()  # not modal: the window stays usable while the table is read
    window.retrain_done.emit(result)


def _sorted_folder(window: Any) -> Path | None:
    """The folder the window last sorted into, when it is (still) a sorted output."""
    from sorter.core.sorting.session import is_sorted_output

    out = getattr(window.result, "out", None)
    return Path(out) if out is not None and is_sorted_output([Path(out)]) else None


def _offer_sort_again(window: Any, dialog: RetrainResultDialog) -> None:
    """The last sorted folder, sorted again with the model just put in use (the preview first)."""
    out = _sorted_folder(window)
    if out is None:
        return

    def sort_again() -> None:
        dialog.accept()
        window.open_sources([out], sort_again=True)

    dialog.offer_sort_again(out.name).clicked.connect(sort_again)


def _on_retrain_failed(window: Any, error: JobError) -> None:
    _stopped(window)
    window.report_error(error)


def _on_retrain_cancelled(window: Any) -> None:
    _stopped(window)
    window.statusBar().showMessage("Retraining cancelled: the current model is unchanged.", 15000)


def use_anyway(window: Any, dialog: RetrainResultDialog, candidate: Any) -> Job:
    """Store the refused candidate as a new version and load it (promote, off the GUI thread)."""
    job = Job(run_promote, candidate, with_progress=False)

    def finished(stored: tuple[str, str]) -> None:
        name, path = stored
        window.refresh_queue()
        window.use_model_version(path, name)
        if _sorted_folder(window) is None:
            dialog.accept()
            return
        dialog.show_in_use(name, path)  # stays open: the last sorted folder can be sorted again
        _offer_sort_again(window, dialog)

    def failed(error: JobError) -> None:
        dialog.reject()
        window.report_error(error)

    job.signals.finished.connect(finished)
    job.signals.failed.connect(failed)
    return window.train_runner.start(job)
