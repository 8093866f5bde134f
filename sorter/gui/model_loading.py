"""The window's model: loading it in the background, a picked file kept among the user's
models, a version put in use, and what the window calls the model."""

from __future__ import annotations

import dataclasses
from pathlib import Path, PureWindowsPath
from typing import Any

from PySide6.QtWidgets import QFileDialog

from sorter.core.settings import save_settings
from sorter.gui.worker import Job, JobError


def load_model_job(path: str | None, device: str) -> Any:
    """Background job: import torch (slow) and load the model file."""
    from sorter.core.model.modelfile import load_model

    return load_model(path, device=device)


class ModelLoadingMixin:
    """The model part of MainWindow, kept apart so each module stays short: one model loads
    at a time on the window's model thread (`runner`)."""

    def init_model(self, model_path: str | None) -> None:
        self.model_path = model_path
        self.model: Any = None
        self.model_unusable = False  # True once loading failed: a drop cannot wait for it
        # While a picked model file loads: the model that worked before it, kept until the pick
        # proves loadable, and put back when it does not.
        self._fallback: tuple[Any, str | None, str | None] | None = None  # + the setting before
        self._picked: str | None = None  # a file the user picked, kept as a version once loaded

    def start_loading_model(self) -> Job:
        """Load the model in the background; the window stays usable meanwhile."""
        self.model = None
        self.model_unusable = False
        self.model_label.setText("Model: loading...")
        self.home.drop_area.categories.setVisible(False)  # until the new model says its own
        path = self.model_path
        job = Job(load_model_job, path, self.settings.device, with_progress=False)
        job.signals.finished.connect(lambda model: self._on_model_job_finished(model, path))
        job.signals.failed.connect(lambda error: self._on_model_job_failed(error, path))
        return self.runner.start(job)

    def _on_model_job_finished(self, model: Any, path: str | None) -> None:
        if path != self.model_path:
            return  # a model picked since this one started loading replaces it
        if self._fallback is not None:  # a picked file loaded: now it is the current model
            self._fallback = None
            self.settings.model_path = path
            save_settings(self.settings)
        if self._picked is not None and self._picked == path:
            self._picked = None
            self._keep_a_copy(path)
        self.model = model
        self.show_model(model)
        self.refresh_queue()
        self.model_ready.emit()
        self.start_pending()

    def _keep_a_copy(self, path: str | None) -> Job | None:
        """A model file picked from elsewhere (Downloads, a USB stick) would stop working when
        that file goes: keep a checked copy among the user's models (add_model_file, which
        finds a stored version of the same model instead of adding it twice). While the pick
        is still the model in use, the window and the settings then point at the copy; its
        weights are the ones in memory, so nothing is loaded again."""
        from sorter.core.learning.manage import add_model_file
        from sorter.core.learning.versions import DEFAULT, is_stored_version, version_name_of

        name = version_name_of(path)
        if not path or name == DEFAULT or is_stored_version(name):
            return None
        if not name.lower().endswith(".pth"):
            return None
        job = Job(add_model_file, Path(path), with_progress=False)
        job.signals.finished.connect(lambda result: self._on_copy_kept(result, path))
        job.signals.failed.connect(lambda error: self._on_copy_failed(error, path))
        return self.runner.start(job)

    def _on_copy_kept(self, result: Any, path: str) -> None:
        from sorter.core.learning.versions import VersionError, use_version, with_title

        version, added = result
        label = with_title(version.name, version.path)
        name = Path(path).name
        # short enough for the status bar beside the queue count at 900 px
        kept = "a copy kept among your models" if added else "one of your models already"
        if self.model is None or self.model_path != path:  # another model was picked since
            self.statusBar().showMessage(f"{name} is model {label}, {kept}.", 20000)
            return
        try:
            use_version(version.name)
        except VersionError as exc:  # deleted in between: the picked file stays in use
            self.statusBar().showMessage(f"Now using {name} from its folder ({exc}).", 20000)
            return
        self.settings.model_path = self.model_path = str(version.path)
        self.model.path = version.path
        self.show_model(self.model)
        self.statusBar().showMessage(f"Now using model {label}, {kept}.", 20000)

    def _on_copy_failed(self, error: JobError, path: str) -> None:
        self.statusBar().showMessage(
            f"Now using {Path(path).name} from its folder: no copy could be kept among your "
            f"models ({error.message}).",
            20000,
        )

    def show_model(self, model: Any) -> None:
        from sorter.core.model.modelfile import device_label

        name = model_name(model)  # resolves the model's path: once
        self.model_label.setText(f"Model: {name}  ·  {device_label(model.device)}")
        self.home.drop_area.show_model(name, list(model.categories), model.exclusive)

    def _on_model_job_failed(self, error: JobError, path: str | None) -> None:
        if path != self.model_path:
            return  # a model picked since this one started loading replaces it
        if self._picked == path:
            self._picked = None  # nothing to keep
        waited = self.pending_sources is not None  # a folder was waiting for it: not sorted
        if waited:
            self.pending_sources = None
            self.progress_page.stop()
            self.go_home()
        if self._fallback is not None:  # a picked file that is no model: keep the one that worked
            self.model, self.model_path, setting = self._fallback
            self._fallback = None
            if self.settings.model_path != setting:  # the Settings dialog saved the bad one
                self.settings.model_path = setting
                save_settings(self.settings)
            self.show_model(self.model)
            self.statusBar().showMessage(
                f"Still using model {model_name(self.model)}: the file you picked did not load.",
                20000,
            )
            kept = f"Sorter goes on with the model it had, {model_name(self.model)}."
            error = dataclasses.replace(error, message=f"{error.message}\n\n{kept}")
        else:
            self.model_unusable = True
            self.model_label.setText("Model: not loaded (File > Open model... to pick another)")
            if waited:
                self.statusBar().showMessage(f"Nothing was sorted: {error.message}", 20000)
        self.report_error(error)
        self.model_failed.emit()

    def choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a Sorter model", str(Path.home()), "Sorter models (*.pth *.json)"
        )
        if path:
            self.use_model_file(path)

    def use_model_file(self, path: str) -> None:
        """Load a picked model file; it becomes the current model (the settings too) only once
        it has loaded, so a file that is not a model leaves the model that worked in place."""
        if self.model is not None:
            self._fallback = (self.model, self.model_path, self.settings.model_path)
        self._picked = path
        if self._fallback is None:  # nothing works now: the pick is current at once
            self.settings.model_path = path
            save_settings(self.settings)
        self.model_path = path
        self.start_loading_model()

    def use_model_version(self, path: str | None, name: str) -> None:
        """Load a version the core has just made current (it wrote the settings already)."""
        from sorter.core.learning.versions import with_title

        self._fallback = None  # the core made it current already
        self.model_path = path
        self.settings.model_path = path
        self.start_loading_model()
        self.statusBar().showMessage(f"Now using model {with_title(name, path)}.", 15000)


def model_name(model: Any) -> str:
    """What the window calls the model: its version name, else its file name, and model_title
    in brackets when there is one: "v2 (Furniture)", "v2 (Shop examples)"."""
    from sorter.core.learning.versions import version_name_of

    title = model_title(model)
    name = version_name_of(model.path)
    return f"{name} ({title})" if title else name


def model_title(model: Any) -> str:
    """The name the user gave the model, else the folder of example photos it was trained on
    when it was one (retrains keep both), else ""."""
    from sorter.core.learning.versions import title_of

    examples = (getattr(model.meta, "training", None) or {}).get("data_path")
    # PureWindowsPath splits at both / and \, so a model trained on either system reads right
    return title_of(model.path) or (PureWindowsPath(examples).name if examples else "")
