"""*Model > New model from example photos...*: teach Sorter the user's own categories.

The user picks (or drops) a folder holding one sub-folder of example photos per category. The
dialog reads it and says what it found, trains in the background with progress and Cancel, then
shows what the cross-validation expects and offers *Use this model*. The model is stored as the
next version (the *Model* menu lists it), so nothing is written beside the user's photos.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sorter.core.jobs import Progress
from sorter.core.text import some_of
from sorter.gui.drop_area import usable_paths
from sorter.gui.pages import open_folder as show_in_file_manager
from sorter.gui.retrain_status import stage_progress
from sorter.gui.train_result import (
    LISTED,
    CategoryTable,
    few_warnings,
    found_text,
    result_html,
)
from sorter.gui.versions_menu import switch_version
from sorter.gui.worker import Job, JobError, JobRunner

log = logging.getLogger(__name__)

INTRO = (
    "<b>Teach Sorter your own categories</b><br>"
    "Make a folder of examples with one folder inside it per category, named as the category, "
    "and put a few photos of that category in each: <i>Examples\\Chairs</i>, "
    "<i>Examples\\Tables</i>... About ten photos per category is enough to start; more help. "
    "Sorter only reads them."
)


def read_examples(folder: Path) -> Any:
    """Background job: the examples folder as training data, checked (TrainingDataError when it
    cannot train a model: no category folders, one category, no images)."""
    from sorter.core.training.data import check, load_training_data

    data = load_training_data(folder)
    check(data)
    return data


def train_examples(data: Any, device: str, title: str, *, progress: Any, cancel: Any) -> Any:
    """Background job: quick training on the examples, stored as the next model version with
    the name the user gave it."""
    from sorter.core.learning.manage import train_version
    from sorter.core.training.options import TrainOptions

    options = TrainOptions(device=device)
    return train_version(data, options, title=title, progress=progress, cancel=cancel)


class TrainDialog(QDialog):
    """Pick examples, train, see the expected result, use the model (or keep it for later)."""

    use_requested = Signal(str)  # the version name

    def __init__(
        self,
        device: str,
        runner: Any,
        parent: QWidget | None = None,
        retraining: Any = lambda: False,
    ) -> None:
        """`runner` trains (the window's training runner: one job at a time, cancelled when
        the window closes); `retraining()` says whether a retrain holds it now."""
        super().__init__(parent)
        self.setObjectName("train_dialog")
        self.setWindowTitle("New model from example photos")
        self.setAcceptDrops(True)
        self.device, self.runner, self.retraining = device, runner, retraining
        self.reader = JobRunner(self)  # reading a folder never waits behind a training
        self.folder: Path | None = None
        self.data: Any = None
        self.job: Job | None = None
        self.result: Any = None
        self.version: Any = None
        self._close_when_stopped = False
        self._build()
        em = self.fontMetrics().height()
        self.resize(40 * em, 30 * em)

    def _build(self) -> None:
        self.intro = QLabel(INTRO)
        self.intro.setWordWrap(True)
        row = self._build_folder_row()
        self.found = QLabel(
            "No examples folder yet? <b>Make one...</b> creates it in your Pictures folder, "
            "with an empty folder for each category you name, ready for your photos."
        )
        self.found.setWordWrap(True)
        self.found.setTextFormat(Qt.TextFormat.RichText)
        self.title_row = self._build_title_row()
        self.bar = QProgressBar()
        self.stage = QLabel()
        self.table = CategoryTable()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.press_train = QLabel("Press <b>Train</b>: it takes about a minute or less.")
        self.saved = QLabel()
        self.saved.setWordWrap(True)
        hidden = (self.bar, self.stage, self.table, self.summary, self.press_train, self.saved)
        for widget in hidden:  # until a folder is read, training runs or a model is made
            widget.setVisible(False)
        self._build_buttons()
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(row)
        for widget in (self.found, self.title_row, self.press_train, self.summary, self.stage):
            layout.addWidget(widget)
        for widget in (self.bar, self.table, self.saved):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

    def _build_folder_row(self) -> QHBoxLayout:
        """Examples: <folder>  [Read again] [Choose folder...] [Make one...]"""
        self.folder_label = QLabel("No folder chosen yet: choose one, or drop it here.")
        self.folder_label.setWordWrap(True)
        self.folder_label.setTextFormat(Qt.TextFormat.PlainText)
        self.choose_button = QPushButton("Choose folder...")
        self.choose_button.clicked.connect(self.choose_folder)
        self.reread_button = QPushButton("Read again")
        self.reread_button.setToolTip("Read the folder again, e.g. after adding photos to it")
        self.reread_button.clicked.connect(lambda: self.open_folder(self.folder))
        self.reread_button.setVisible(False)
        self.make_button = QPushButton("Make one...")
        self.make_button.setToolTip(
            "Make a new examples folder in your Pictures folder, with a folder for each "
            "category you name"
        )
        self.make_button.clicked.connect(self.ask_categories)
        row = QHBoxLayout()
        row.addWidget(QLabel("Examples:"))
        row.addWidget(self.folder_label, 1)
        for button in (self.reread_button, self.choose_button, self.make_button):
            row.addWidget(button)
        return row

    def _build_title_row(self) -> QWidget:
        """Name of the model: [...], shown once a folder has been read."""
        from sorter.core.learning.versions import TITLE_MAX

        self.title = QLineEdit()
        self.title.setMaxLength(TITLE_MAX)
        self.title.setToolTip(
            "Shown beside the model's number in the window and the Model menu; "
            "Model > Rename this model... changes it later"
        )
        widget = QWidget()
        row = QHBoxLayout(widget)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Name of the model:"))
        row.addWidget(self.title, 1)
        widget.setVisible(False)
        return widget

    def _build_buttons(self) -> None:
        self.buttons = QDialogButtonBox()
        self.train_button = self.buttons.addButton("Train", QDialogButtonBox.ButtonRole.AcceptRole)
        self.train_button.setEnabled(False)
        self.train_button.setDefault(True)
        self.train_button.clicked.connect(self.start_training)
        self.use_button = self.buttons.addButton(
            "Use this model", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.use_button.setVisible(False)
        self.use_button.clicked.connect(self._on_use_button_clicked)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.reject)

    # --- the examples folder -----------------------------------------------------------------
    def choose_folder(self) -> None:
        start = str(self.folder or Path.home())
        path = QFileDialog.getExistingDirectory(self, "Choose the folder of examples", start)
        if path:
            self.open_folder(Path(path))

    def ask_categories(self) -> QInputDialog:
        """Ask for the category names; a new examples folder with their folders follows."""
        dialog = self.make_dialog = QInputDialog(self)
        dialog.setWindowTitle("Make an examples folder")
        dialog.setLabelText(
            "Your categories, separated by commas (for example: chairs, tables, lamps).\n"
            "Sorter makes a folder for each in a new “Sorter examples” folder in Pictures."
        )
        dialog.textValueSelected.connect(self.make_examples)
        dialog.open()
        return dialog

    def make_examples(self, text: str) -> Job:
        """Create the folders in the background, then open them for the user to fill."""
        from sorter import appdirs
        from sorter.core.training.examples import make_examples_folder, parse_category_names

        names = parse_category_names(text)
        job = Job(make_examples_folder, appdirs.pictures_dir(), names, with_progress=False)
        job.signals.finished.connect(lambda folder: self._on_made(folder, names))
        job.signals.failed.connect(self._on_make_failed)
        return self.reader.start(job)

    def _on_made(self, folder: Path, names: list[str]) -> None:
        self._set_folder(folder)
        shown = show_in_file_manager(folder)
        listed = _text(some_of(names, LISTED))
        self.found.setText(
            f"Made <b>{_text(folder.name)}</b> with a folder for each category: {listed}. "
            f"Put about ten photos of each category in its folder"
            f"{' (the folder is open now)' if shown else ''}, then press <b>Read again</b>."
        )

    def _on_make_failed(self, error: JobError) -> None:
        self.found.setText(f"<b>No folder was made.</b> {_text(error.message)}")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if self.job is None and any(p.is_dir() for p in usable_paths(urls)):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        folders = [p for p in usable_paths(event.mimeData().urls()) if p.is_dir()]
        if not folders or self.job is not None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_folder(folders[0])

    def _set_folder(self, folder: Path) -> None:
        """A new examples folder: nothing read or trained from it yet."""
        self.folder, self.data = folder, None
        self.result = self.version = None  # a model trained before stays stored as it was
        self._show_result(None)
        self.folder_label.setText(str(folder))
        self.reread_button.setVisible(True)
        self.title_row.setVisible(False)
        self.press_train.setVisible(False)
        self.train_button.setEnabled(False)

    def open_folder(self, folder: Path) -> Job:
        """Read the examples in the background and say what was found."""
        self._set_folder(folder)
        self.found.setText("Reading the folder...")
        job = Job(read_examples, folder, with_progress=False)
        job.signals.finished.connect(lambda data: self._on_read(folder, data))
        job.signals.failed.connect(lambda error: self._on_read_failed(folder, error))
        return self.reader.start(job)

    def _on_read(self, folder: Path, data: Any) -> None:
        if folder != self.folder:
            return  # another folder was chosen meanwhile
        self.data = data
        if not self.title.isModified():  # the folder's name, until the user types their own
            self.title.setText(folder.name)
        self.title_row.setVisible(True)
        lines = [_text(found_text(data))]
        lines += [f"Note: {_text(w)}" for w in data.warnings + few_warnings(data)]
        self.found.setText("<br>".join(lines))
        self.press_train.setVisible(True)
        self.train_button.setEnabled(True)
        self.train_button.setFocus()

    def _on_read_failed(self, folder: Path, error: JobError) -> None:
        if folder != self.folder:
            return
        self.found.setText(
            f"<b>Sorter cannot learn from this folder.</b> {_text(error.message)}<br>"
            "Choose a folder that holds one folder of photos per category."
        )

    # --- training ----------------------------------------------------------------------------
    def start_training(self) -> Job | None:
        if self.data is None or self.job is not None:
            return None
        job = Job(train_examples, self.data, self.device, self.title.text())
        job.signals.progressed.connect(self._on_progress)
        job.signals.finished.connect(self._on_trained)
        job.signals.failed.connect(self._on_train_failed)
        job.signals.cancelled.connect(self._on_train_cancelled)
        self.job = job
        self._set_running(True)
        return self.runner.start(job)

    def _set_running(self, running: bool) -> None:
        for button in (self.choose_button, self.reread_button, self.make_button):
            button.setEnabled(not running)
        self.title.setEnabled(not running)
        self.train_button.setEnabled(not running and self.data is not None)
        self.close_button.setText("Cancel" if running else "Close")
        self.close_button.setEnabled(True)
        self.bar.setVisible(running)
        self.stage.setVisible(running)
        self.press_train.setVisible(not running and self.data is not None and self.result is None)
        if running:
            self.bar.setRange(0, 0)
            waiting = (
                "Waiting for the retrain in progress to finish..." if self.retraining() else ""
            )
            self.stage.setText(waiting or "Loading the networks...")

    def _on_progress(self, p: Progress) -> None:
        self.stage.setText(stage_progress(p))
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))

    def _stopped(self) -> bool:
        """The job ended: back to a usable dialog; True when the user asked to close it."""
        self.job = None
        self._set_running(False)
        if self._close_when_stopped:
            super().reject()
            return True
        return False

    def _on_trained(self, trained: tuple[Any, Any]) -> None:
        self.result, self.version = trained
        if not self._stopped():
            self._show_result(self.result)

    def _on_train_failed(self, error: JobError) -> None:
        if not self._stopped():
            self.press_train.setVisible(False)
            self.found.setText(
                f"<b>Training stopped; no model was saved.</b> {_text(error.message)}"
            )

    def _on_train_cancelled(self) -> None:
        if not self._stopped():
            self.press_train.setVisible(False)
            self.found.setText("Training was cancelled; no model was saved.")

    def _show_result(self, result: Any) -> None:
        for widget in (self.summary, self.table, self.saved, self.use_button):
            widget.setVisible(result is not None)
        self.train_button.setVisible(result is None)
        self.found.setVisible(result is None)
        self.title_row.setVisible(result is None and self.data is not None)
        if result is None:
            return
        self.press_train.setVisible(False)
        name = self.version.name
        if self.version.title:
            name += f", “{_text(self.version.title)}”"
        self.summary.setText(result_html(result))
        self.saved.setText(
            f"It is saved as model {name}: the <i>Model</i> menu lists it, beside the model you "
            "use now. <b>Use this model</b> sorts with it from now on."
        )
        self.table.fill(result)
        # Grow to show every row (up to a screenful); the table scrolls beyond that.
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))
        self.use_button.setDefault(True)
        self.use_button.setFocus()

    def _on_use_button_clicked(self) -> None:
        if self.version is not None:
            self.use_requested.emit(self.version.name)
        self.accept()

    def reject(self) -> None:
        if self.job is not None:  # Cancel (or Esc, or the title bar's X) while training
            self.job.cancel()  # the core stops at its next check; nothing is saved
            self._close_when_stopped = True
            self.stage.setText("Cancelling...")
            self.close_button.setEnabled(False)
            return
        super().reject()


def _text(plain: str) -> str:
    """Plain text inside the dialog's rich-text labels."""
    return html.escape(plain, quote=False)


def open_train_dialog(window: Any) -> TrainDialog:
    """Show the dialog, modal to the window (a folder of examples dropped beside it must not
    start a sort of it); Use makes the model current."""
    dialog = TrainDialog(
        window.settings.device, window.train_runner, window, lambda: window.retrain_job is not None
    )
    # Use: the Model menu's switch to a version (made current off the GUI thread, then loaded)
    dialog.use_requested.connect(lambda name: switch_version(window, name))
    window.train_dialog = dialog
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()
    return dialog
