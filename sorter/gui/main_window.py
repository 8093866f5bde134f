"""The main window: pages for drop, progress, preview, summary and review, and the status bar."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
)

from sorter.core.settings import Settings, load_settings, save_settings
from sorter.gui.drop_area import usable_paths
from sorter.gui.errors import show_error
from sorter.gui.flow import SortFlowMixin
from sorter.gui.model_loading import ModelLoadingMixin, model_name
from sorter.gui.pages import HomePage, ProgressPage, SummaryPage
from sorter.gui.preview import PreviewPage
from sorter.gui.retrain_status import RetrainStatus
from sorter.gui.review import ReviewPage
from sorter.gui.theme import app_icon
from sorter.gui.thumbnails import ThumbnailCache
from sorter.gui.worker import Job, JobError, JobRunner
from sorter.logs import log_file

log = logging.getLogger(__name__)

LARGE_IMAGE = 1024  # the large view and the correction dialog; fitted to the window


class MainWindow(ModelLoadingMixin, SortFlowMixin, QMainWindow):
    """One window, one page at a time; every long job runs through `JobRunner`."""

    model_ready = Signal()
    model_failed = Signal()
    page_changed = Signal(str)
    corrections_saved = Signal(int)
    retrain_done = Signal(object)

    def __init__(self, settings: Settings | None = None, model_path: str | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else load_settings()
        self.init_model(model_path if model_path is not None else self.settings.model_path)
        self.last_error = None
        self.runner = JobRunner(self, threads=1)  # the model is only ever used by this one thread
        self.io_runner = JobRunner(self, threads=1)
        self.train_runner = JobRunner(self, threads=1)  # retraining reads its own model copy
        self.retrain_job: Job | None = None
        self.train_dialog: Any = None  # *New model from example photos*, while open
        self.thumbs = ThumbnailCache(self)
        self.large_images = ThumbnailCache(self, size=LARGE_IMAGE)
        self.setWindowTitle("Sorter")
        self.setWindowIcon(app_icon())
        self._build_pages()
        self._build_status_bar()
        self._build_menus()
        self.init_flow()
        self.setAcceptDrops(True)  # every page takes a drop; the start page's area shows it
        self.home.skip_preview.setChecked(self.settings.skip_preview)
        self.home.skip_preview.toggled.connect(self._on_skip_preview_toggled)
        self.home.set_recent(self.settings.recent_folders)
        self.home.own_categories_button.clicked.connect(self.open_train_dialog)
        self.show_page(self.home)
        em = self.fontMetrics().height()
        self.resize(60 * em, 42 * em)  # in text lines, so 150% scaling gets a bigger window

    def _build_pages(self) -> None:
        self.stack = QStackedWidget()
        self.home = HomePage()
        self.progress_page = ProgressPage()
        self.preview = PreviewPage(self.thumbs)
        self.summary = SummaryPage()
        self.review_page = ReviewPage(self.thumbs, self.large_images, self.settings.thumbnail_size)
        self.review_page.thumbnail_size_chosen.connect(self._on_review_page_thumbnail_size_chosen)
        for page in (self.home, self.progress_page, self.preview, self.summary, self.review_page):
            self.stack.addWidget(page)
        self.setCentralWidget(self.stack)

    def _build_status_bar(self) -> None:
        self.model_label = QLabel("Model: loading...")
        self.queue_label = QLabel()
        self.retrain_button = QPushButton("Retrain...")
        self.retrain_button.setFlat(True)
        self.retrain_button.clicked.connect(self._on_retrain_button_clicked)
        self.retrain_status = RetrainStatus()
        self.retrain_status.cancel_requested.connect(self._on_retrain_status_cancel_requested)
        bar = self.statusBar()
        bar.addWidget(self.model_label, 1)
        bar.addPermanentWidget(self.retrain_status)  # permanent: passing messages never hide it
        bar.addPermanentWidget(self.queue_label)
        bar.addPermanentWidget(self.retrain_button)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add_action(file_menu, "&Choose folder...", self.choose_folder, QKeySequence.Open)
        self.recent_menu = file_menu.addMenu("&Recent folders")
        self.recent_menu.aboutToShow.connect(self._on_recent_menu_about_to_show)
        self.undo_action = self._add_action(file_menu, "&Undo this sort", self.undo_sort)
        self.undo_action.setEnabled(False)
        self._add_action(file_menu, "Open &model...", self.choose_model_file)
        self._add_import_actions(file_menu)
        file_menu.addSeparator()
        self._add_action(file_menu, "&Settings...", self.open_settings)
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", self.close, QKeySequence.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self._add_action(view_menu, "&Review images", self.open_review)
        self._add_action(view_menu, "Correction &queue", self._on_retrain_button_clicked)
        self._add_action(view_menu, "About the &model...", self.show_model_details)
        self._build_model_menu()
        help_menu = self.menuBar().addMenu("&Help")
        self._add_action(help_menu, "&About Sorter...", self.show_about)

    def _build_model_menu(self) -> None:
        from sorter.gui.versions_menu import fill_versions_menu

        menu = self.versions_menu = self.menuBar().addMenu("&Model")
        separator = menu.addSeparator()  # the versions go above it, rebuilt on each opening
        self._add_action(menu, "&New model from example photos...", self.open_train_dialog)
        self._add_action(menu, "&Retrain from corrections...", self._on_retrain_button_clicked)
        self.rename_action = self._add_action(menu, "Re&name this model...", self.rename_model)
        self._add_action(menu, "&Manage models...", self.open_models)
        menu.aboutToShow.connect(lambda: fill_versions_menu(self, menu, separator))

    def _add_action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _=False: slot())
        menu.addAction(action)
        return action

    def _on_recent_menu_about_to_show(self) -> None:
        self.recent_menu.clear()
        for folder in self.settings.recent_folders:
            action = self.recent_menu.addAction(folder.replace("&", "&&"))
            action.triggered.connect(lambda _=False, f=folder: self.open_sources([Path(f)]))
        self.recent_menu.setEnabled(bool(self.settings.recent_folders))

    def _add_import_actions(self, menu) -> None:
        from sorter.gui.model_menu import import_actions

        for text, slot in import_actions(self):
            self._add_action(menu, text, slot)

    def show_page(self, page) -> None:
        self.stack.setCurrentWidget(page)
        self.page_changed.emit(type(page).__name__)

    def show_about(self) -> None:
        """Version, where Sorter keeps things, the log folder and the licences."""
        from sorter.gui.about import AboutDialog

        self.about_dialog = AboutDialog(self)
        self.about_dialog.open()

    def show_model_details(self) -> None:
        """How the current model decides and how well its training says it sorts."""
        from sorter.core.training.report import about_lines

        if self.model is None:
            self.statusBar().showMessage("No model is loaded yet.", 5000)
            return
        text = "\n".join(about_lines(self.model.meta))
        title = f"Model: {model_name(self.model)}"
        box = QMessageBox(QMessageBox.Information, title, text, QMessageBox.Ok, self)
        box.setObjectName("model_details")
        box.open()

    def open_models(self) -> None:
        from sorter.gui.models_dialog import open_models_dialog

        open_models_dialog(self)

    def rename_model(self) -> None:
        from sorter.gui.versions_menu import rename_current_model

        rename_current_model(self)

    def open_settings(self) -> None:
        from sorter.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        if dialog.exec():
            dialog.apply(self.settings)
            save_settings(self.settings)
            self.home.skip_preview.setChecked(self.settings.skip_preview)
            if dialog.model_changed:  # as Open model: a model that fails to load is not kept
                if self.model is not None:
                    self._fallback = (self.model, self.model_path, dialog.original_model)
                self._picked = self.settings.model_path
                self.model_path = self.settings.model_path
                self.start_loading_model()

    def _on_review_page_thumbnail_size_chosen(self, size: int) -> None:
        self.settings.thumbnail_size = size
        save_settings(self.settings)

    def _on_skip_preview_toggled(self, on: bool) -> None:
        self.settings.skip_preview = on
        save_settings(self.settings)

    # --- the correction queue ------------------------------------------------------------
    def refresh_queue(self) -> None:
        """Show "N corrections waiting" from the core queue."""
        from sorter.core.learning.correcting import pending_corrections

        try:
            count = pending_corrections()
        except Exception as exc:
            log.warning("Cannot read the correction queue: %s", exc)
            self.queue_label.setText("Correction queue unavailable")
            return
        self.queue_count = count
        self.queue_label.setText(f"{count} correction{'s' if count != 1 else ''} waiting")

    def open_train_dialog(self) -> None:
        """Teach Sorter the user's own categories from a folder of example photos."""
        from sorter.gui.train_dialog import open_train_dialog

        if self.train_dialog is not None and self.train_dialog.isVisible():
            self.train_dialog.raise_()
            self.train_dialog.activateWindow()
            return
        open_train_dialog(self)

    def _on_retrain_button_clicked(self) -> None:
        from sorter.gui.retrain import open_retrain

        open_retrain(self)

    def _on_retrain_status_cancel_requested(self) -> None:
        from sorter.gui.retrain import cancel_retrain

        cancel_retrain(self)

    # --- drops on any page ----------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and usable_paths(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        """A drop beside the start page's area: a new sort, queued behind a loading model,
        or "finish or cancel first" while a job runs (open_sources says which)."""
        paths = usable_paths(event.mimeData().urls()) if event.mimeData().hasUrls() else []
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        log.info("Dropped on %s: %s", type(self.stack.currentWidget()).__name__, paths)
        self.open_sources(paths)

    # --- errors and closing ----------------------------------------------------------------
    def report_error(self, error: JobError) -> None:
        self.last_error = show_error(self, error, log_path=log_file() if error.unexpected else None)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.runner.cancel_all()
        self.io_runner.cancel_all()
        self.train_runner.cancel_all()
        self.thumbs.pool.clear()
        self.large_images.pool.clear()
        self.hide()  # a model still loading cannot be interrupted: do not look frozen meanwhile
        for runner in (self.runner, self.io_runner, self.train_runner):
            runner.wait(10_000)
        self.thumbs.pool.waitForDone(5_000)
        self.large_images.pool.waitForDone(5_000)
        super().closeEvent(event)
