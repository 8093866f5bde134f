"""The steps of one sort in the main window: scan and score, preview, copy, summary, review."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from sorter.core.learning.correcting import save_corrections
from sorter.core.model.decide import UNCERTAIN
from sorter.core.settings import REMEMBERED_MODES, save_settings
from sorter.core.sorting import session
from sorter.core.sorting.places import onedrive_warning
from sorter.core.sorting.plan import SortPlan
from sorter.core.sorting.review_items import ReviewItem, ReviewSet, review_set
from sorter.core.sorting.update import undo_sort_of
from sorter.gui.correction_dialog import CorrectionDialog
from sorter.gui.pages import DEFAULT_OUT_TEXT
from sorter.gui.sort_mode import doing
from sorter.gui.summary_text import summary_texts, undo_texts
from sorter.gui.worker import Job, JobError

log = logging.getLogger(__name__)


class SortFlowMixin:
    """Step logic of MainWindow; kept apart so each module stays short. Calls only the core."""

    def init_flow(self) -> None:
        self.batch_size: int | None = None  # None: chosen for the device
        self.pending_sources: list[Path] | None = None
        self.pending_again = False  # the pending drop is a sorted folder to sort again
        self.scanning: list[Path] = []  # the sources of the scan running or shown
        self.last_sort: tuple[Path, list[Path]] | None = None  # (OUT, sources): what undo takes
        self.out_override: Path | None = None
        self.result: session.ScoreResult | None = None
        self.current_thresholds: session.Thresholds | None = None
        self.plan: SortPlan | None = None  # the plan being (or last) copied
        self.review_set: ReviewSet | None = None
        self.scan_job: Job | None = None
        self.scan_model: Any = None  # the model that scores the scan running or shown
        self.copy_job: Job | None = None
        self.correction_dialog: CorrectionDialog | None = None
        self.onedrive_noticed = False  # said once per session: copies into OneDrive get uploaded
        self.home.drop_area.dropped.connect(self.open_sources)
        self.home.drop_area.choose_requested.connect(self.choose_folder)
        self.home.output_row.change_requested.connect(self.choose_output)
        self.preview.output_row.change_requested.connect(self.choose_output)
        self.progress_page.cancel_requested.connect(self._on_progress_page_cancel_requested)
        self.preview.copy_requested.connect(self.start_copy)
        self.preview.back_requested.connect(self.go_home)
        self.preview.thresholds_changed.connect(self._on_preview_thresholds_changed)
        self.summary.review_requested.connect(self.open_review)
        self.summary.again_requested.connect(self.go_home)
        self.summary.undo_requested.connect(self.undo_sort)
        self.review_page.back_requested.connect(lambda: self.show_page(self.summary))
        self.review_page.corrections_confirmed.connect(self.save_corrections)
        self.review_page.dialog_requested.connect(self.open_correction_dialog)
        self.preview.mode_row.set_mode(self.settings.sort_mode)

    # --- choosing what to sort -------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Choose a folder of photos", _start_dir(self)
        )
        if folder:
            self.open_sources([Path(folder)])

    def choose_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Where should the copies go?", _start_dir(self)
        )
        if not folder:
            return
        self.out_override = Path(folder)
        self.home.output_row.set_text(folder)
        if self.result is not None:
            self.result.move_out(self.out_override)  # what was sorted there before counts now
            self.preview.output_row.set_text(folder)
            self.preview.refresh(self.current_thresholds)

    def open_sources(self, paths: list[Path], sort_again: bool = False) -> None:
        """Start step 1 for dropped or chosen folders/images (waits for the model if needed).
        `sort_again`: one sorted folder whose photos are to be sorted again into it."""
        if self.scan_job is not None or self.copy_job is not None:
            self.statusBar().showMessage("Finish or cancel the current job first.", 6000)
            return
        if self.model is None and self.model_unusable:
            self.statusBar().showMessage(
                "No model is loaded: pick one with File > Open model..., then drop again.", 10000
            )
            return
        self.pending_sources = [Path(p) for p in paths]
        self.pending_again = sort_again
        if self.model is None:  # queued: it starts as soon as the model is ready
            self.progress_page.start("Getting the model ready...")
            self.show_page(self.progress_page)
            return
        self.start_pending()

    def _remember(self, paths: list[Path]) -> None:
        """Recent folders keep a folder once its scan found images (not an empty or failed
        one); a drive or card may be gone next time, so it is not kept."""
        remembered = session.remembered_folder(paths)
        if remembered is not None:
            self.settings.add_recent(remembered)
            save_settings(self.settings)
            self.home.set_recent(self.settings.recent_folders)

    def start_pending(self) -> None:
        if self.pending_sources is None or self.model is None:
            return
        paths, self.pending_sources = self.pending_sources, None
        self.scanning = paths
        self.statusBar().clearMessage()  # an earlier "cancelled" is no news for this one
        self.scan_model = self.model  # a model put in use meanwhile must not judge this scan
        out = self.out_override or session.proposed_out(paths)
        root = session.source_root(paths)
        self.progress_page.start(f"Looking at the images in {root.name or root}...")
        self.show_page(self.progress_page)
        # (a sorted folder dropped again has its photos sorted again into it: the core decides)
        job = Job(
            session.scan_dropped, self.model, paths, out,
            sort_again=self.pending_again, batch_size=self.batch_size,
        )  # fmt: skip
        job.signals.progressed.connect(self.progress_page.show_progress)
        job.signals.finished.connect(self._on_scan_job_finished)
        job.signals.failed.connect(self._on_job_failed)
        job.signals.cancelled.connect(self._on_scan_job_cancelled)
        self.scan_job = self.runner.start(job)

    def _on_progress_page_cancel_requested(self) -> None:
        self.pending_sources = None
        running = [job for job in (self.scan_job, self.copy_job) if job is not None]
        for job in running:
            job.cancel()
        if not running:  # nothing will report back (waiting for the model): leave now
            self.go_home()

    def recover_from_error(self) -> None:
        """After an unexpected error: stop the sort in progress and leave the busy page.

        Cancelling is always safe (every copy made so far is complete); the jobs are let go so
        the next drop is accepted even when the error came from a job's own result slot.
        """
        self.pending_sources = None
        for job in (self.scan_job, self.copy_job):
            if job is not None:
                job.cancel()
        self.scan_job = self.copy_job = None
        self.progress_page.stop()
        if self.stack.currentWidget() is self.progress_page:
            self.go_home()

    def _on_scan_job_cancelled(self) -> None:
        self.scan_job = None
        self.statusBar().showMessage("Scan cancelled: nothing was copied.", 8000)
        self.go_home()

    def _on_job_failed(self, error: JobError) -> None:
        self.scan_job = self.copy_job = None
        self.go_home()
        self.report_error(error)

    def go_home(self) -> None:
        self.show_page(self.home)

    # --- preview -----------------------------------------------------------------------------
    def _on_scan_job_finished(self, result: session.ScoreResult) -> None:
        self.scan_job = None
        self.result = result
        self._remember(self.scanning)
        self.notice_onedrive(result.out)
        self.thumbs.clear()
        self.current_thresholds = session.initial_thresholds(
            self.scan_model, *session.saved_thresholds(self.scan_model, self.settings)
        )
        if self.settings.skip_preview:
            self.start_copy()
            return
        self.preview.output_row.set_text(str(result.out))
        self.preview.show_result(result, self.current_thresholds)
        self.show_page(self.preview)

    def notice_onedrive(self, out: Path) -> None:
        """Once per session: the output lies under OneDrive (the core decides; one sentence)."""
        warning = None if self.onedrive_noticed else onedrive_warning(out)
        if warning:
            self.onedrive_noticed = True
            self.statusBar().showMessage(warning, 30000)

    def _on_preview_thresholds_changed(self, th: session.Thresholds) -> None:
        self.current_thresholds = th

    # --- copy ----------------------------------------------------------------------------------
    def start_copy(self) -> None:
        result, th = self.result, self.current_thresholds
        if result is None or th is None:
            return
        self.settings.default_threshold = th.default
        self.settings.thresholds = dict(th.own)
        self.settings.thresholds_model = session.model_key(self.scan_model)
        mode = self.preview.mode()
        if mode in REMEMBERED_MODES:
            self.settings.sort_mode = mode
        save_settings(self.settings)
        try:
            plan = result.plan(th)
        except Exception as exc:
            self.report_error(JobError.from_exception(exc))
            return
        self.plan = plan
        self.statusBar().clearMessage()
        self.progress_page.start(f"{doing(mode)} into {result.out}...")
        self.show_page(self.progress_page)
        job = Job(session.copy_or_update, result, plan, mode=mode)
        job.signals.progressed.connect(self.progress_page.show_progress)
        job.signals.finished.connect(self._on_copy_job_finished)
        job.signals.failed.connect(self._on_copy_job_failed)
        job.signals.cancelled.connect(self._on_copy_job_cancelled)
        self.copy_job = self.io_runner.start(job)

    def _on_copy_job_cancelled(self) -> None:
        self.copy_job = None
        self.statusBar().showMessage("Copy stopped: the copies made so far are complete.", 8000)
        self.show_page(self.preview)

    def _on_copy_job_failed(self, error: JobError) -> None:
        # Back to the preview: the scores are kept, so the user can fix the cause and copy again.
        self.copy_job = None
        self.show_page(self.preview if self.result is not None else self.home)
        self.report_error(error)

    def _on_copy_job_finished(self, outcome: Any) -> None:
        self.copy_job = None
        self.out_override = None  # the next folder gets its own "(sorted)" folder again
        self.home.output_row.set_text(DEFAULT_OUT_TEXT)
        summary = getattr(outcome, "copy", outcome)  # an update's copy step, or the copy
        folders = session.summary_folders(self.plan, summary)
        title, detail = summary_texts(outcome)
        self.summary.show_summary(self.result.out, folders, title, detail)
        self.review_set = review_set(self.plan, summary, exclusive=self.result.exclusive)
        self.last_sort = (self.result.out, [item.source for item in self.plan.items])
        self.undo_action.setEnabled(True)
        self.summary.set_undo_tip(summary.mode)
        self.preview.mode_row.set_mode(self.settings.sort_mode)  # a move is chosen each time
        self.show_page(self.summary)

    # --- review and corrections ----------------------------------------------------------------
    def open_review(self, folder: str = UNCERTAIN) -> None:
        if self.review_set is None:
            self.statusBar().showMessage(
                "Sort a folder first; then its images can be reviewed.", 6000
            )
            return
        self.review_page.show_review(self.review_set, folder)
        self.show_page(self.review_page)

    def open_correction_dialog(self, item: ReviewItem) -> None:
        dialog = self.review_page.make_dialog(item, self)  # Save decides and moves the grid on
        self.correction_dialog = dialog
        dialog.open()

    def save_corrections(self, items: list[ReviewItem], labels: list[list[str]]) -> None:
        """Fix the sorted output and queue the images, in the background."""
        job = Job(
            save_corrections,
            self.result.out,
            self.result.categories,
            items,
            labels,
            model_path=getattr(self.scan_model, "path", None),
        )
        job.signals.finished.connect(lambda done: self._on_correction_job_finished(done))
        job.signals.failed.connect(self.report_error)
        self.io_runner.start(job)

    def _on_correction_job_finished(self, outcome: Any) -> None:
        done = outcome.saved
        n = len(done)
        text = (
            f"Saved {n} correction{'s' if n != 1 else ''}: {outcome.added} "
            f"cop{'ies' if outcome.added != 1 else 'y'} added, {outcome.removed} removed."
        )
        self.statusBar().showMessage(f"{text} {outcome.notice}".strip(), 10000)
        for item, labels in done:
            item.mark_saved(labels, outcome.pictures.get(item.path))
        self.review_page.refresh_items([item for item, _ in done])
        self.review_page.refresh_counts()
        self.summary.set_folders(self._review_folders())
        self.refresh_queue()
        self.corrections_saved.emit(len(done))

    def _review_folders(self) -> dict[str, tuple[Path, int]]:
        """The summary's folder rows from the review's images, as corrections left them."""
        out, names = self.result.out, self.plan.folder_names
        counts = self.review_set.folder_counts()
        return {name: (out / names.get(name, name), n) for name, n in counts.items()}

    # --- undo ------------------------------------------------------------------------------------
    def undo_sort(self) -> None:
        """Take back the last sort (File > Undo this sort, or the summary's button)."""
        if self.last_sort is None:
            self.statusBar().showMessage("There is no sort to undo in this window.", 6000)
            return
        if self.scan_job is not None or self.copy_job is not None:
            self.statusBar().showMessage("Finish or cancel the current job first.", 6000)
            return
        out, sources = self.last_sort
        self.summary.undo_button.setEnabled(False)
        job = Job(undo_sort_of, out, sources, with_progress=False)
        job.signals.finished.connect(self._on_undo_job_finished)
        job.signals.failed.connect(self._on_undo_job_failed)
        self.io_runner.start(job)

    def _on_undo_job_finished(self, undone: Any) -> None:
        self.last_sort = self.review_set = None
        self.undo_action.setEnabled(False)
        title, detail = undo_texts(undone)
        self.summary.show_undone(title, detail)
        self.statusBar().showMessage(title, 10000)
        self.show_page(self.summary)

    def _on_undo_job_failed(self, error: JobError) -> None:
        self.summary.undo_button.setEnabled(True)
        self.report_error(error)


def _start_dir(window: Any) -> str:
    recent = window.settings.recent_folders
    return str(Path(recent[0]).parent) if recent else str(Path.home())
