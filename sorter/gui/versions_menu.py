"""The Model menu: every stored model version (the one in use checked), to switch back, and
*Rename this model...* for the one in use."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu

from sorter.gui.worker import Job, JobError

log = logging.getLogger(__name__)

DEFAULT_TEXT = "default (the model Sorter came with)"
MENU_VERSIONS = 10  # the newest versions the menu lists (and the one in use); the rest: Manage


def version_text(version: Any) -> str:
    """ "v3  ·  Furniture  ·  2025-12-02  ·  retrained from v2 with 5 new correction(s)"."""
    parts = [version.name, version.title, version.created[:10], version.note]
    return "  ·  ".join(p for p in parts if p).replace("&", "&&")


def fill_versions_menu(window: Any, menu: QMenu, first: Any) -> None:
    """Rebuild the version entries above `first` (the menu's fixed entries) from the core."""
    from sorter.core.learning.versions import (
        DEFAULT,
        is_stored_version,
        list_versions,
        version_name_of,
    )

    for action in list(menu.actions()):
        if action.property("model_version") is not None:
            menu.removeAction(action)
            action.deleteLater()
    in_use = version_name_of(window.model_path)
    try:
        # The default's own entry needs no metadata: reading it would load its weights here.
        stored = list_versions(include_default=False)
    except Exception as exc:
        log.warning("Cannot list the model versions: %s", exc)
        stored = []
    shown = [
        v for i, v in enumerate(stored) if i >= len(stored) - MENU_VERSIONS or v.name == in_use
    ]
    names = [(DEFAULT, DEFAULT_TEXT)] + [(v.name, version_text(v)) for v in shown]
    if len(shown) < len(stored):
        more = len(stored) - len(shown)
        names.append(("", f"{more} older model{'s' if more > 1 else ''}: Model > Manage models..."))
    window.rename_action.setEnabled(is_stored_version(in_use))
    old_group = getattr(menu, "version_group", None)
    if old_group is not None:
        old_group.deleteLater()
    group = menu.version_group = QActionGroup(menu)
    for name, text in names:
        action = QAction(text, menu)
        menu.insertAction(first, action)
        action.setProperty("model_version", name)
        if not name:  # the note on older models: Manage models lists them
            action.setEnabled(False)
            continue
        action.setCheckable(True)
        action.setChecked(name == in_use)
        group.addAction(action)
        action.triggered.connect(lambda _=False, n=name: switch_version(window, n))


def switch_version(window: Any, name: str, done: Any = None) -> Job:
    """Make `name` the current model (in the settings, off the GUI thread) and load it; then
    call `done()` when given."""
    from sorter.core.learning.versions import DEFAULT, use_version

    def finished(version: Any) -> None:
        path = None if version.name == DEFAULT else str(version.path)
        window.use_model_version(path, version.name)
        if done is not None:
            done()

    def failed(error: JobError) -> None:
        window.report_error(error)

    job = Job(use_version, name, with_progress=False)
    job.signals.finished.connect(finished)
    job.signals.failed.connect(failed)
    return window.io_runner.start(job)


def rename_current_model(window: Any) -> QInputDialog | None:
    """Ask for a name for the model in use (a stored version) and store it off the GUI thread;
    the status bar and the start page show it once stored."""
    from sorter.core.learning.versions import is_stored_version, version_name_of

    name = version_name_of(window.model_path)
    if window.model is None or not is_stored_version(name):
        why = (
            "Only models made in Sorter (from example photos or by retraining) can be renamed."
            if window.model is not None
            else "The model is still loading: rename it once it is ready."
        )
        window.statusBar().showMessage(why, 10000)
        return None
    from sorter.gui.model_loading import model_title

    return ask_model_name(window, name, model_title(window.model))


def ask_model_name(
    window: Any, name: str, title: str, parent: Any = None, done: Any = None
) -> QInputDialog:
    """The name dialog for version `name` (`title`: the text to start from), over `parent`
    (default: the window); OK stores the name off the GUI thread, then calls `done()`."""
    from sorter.core.learning.versions import TITLE_MAX

    dialog = window.rename_dialog = QInputDialog(parent or window)
    dialog.setObjectName("rename_model")
    dialog.setWindowTitle(f"Rename model {name}")
    dialog.setLabelText(f"Name of model {name} (leave it empty for none):")
    dialog.setTextValue(title)
    field = dialog.findChild(QLineEdit)
    field.setMaxLength(TITLE_MAX)
    field.setMinimumWidth(24 * dialog.fontMetrics().height())  # room for a long name
    dialog.textValueSelected.connect(lambda text: _store_title(window, name, text, done))
    dialog.open()
    return dialog


def _store_title(window: Any, name: str, text: str, done: Any = None) -> Job:
    from sorter.core.learning.manage import name_version
    from sorter.core.learning.versions import version_name_of

    def finished(version: Any) -> None:
        if window.model is not None and version_name_of(window.model_path) == version.name:
            window.show_model(window.model)
        said = f"is now called “{version.title}”" if version.title else "has no name of its own"
        window.statusBar().showMessage(f"Model {version.name} {said}.", 10000)
        if done is not None:
            done()

    job = Job(name_version, name, text, with_progress=False)
    job.signals.finished.connect(finished)
    job.signals.failed.connect(window.report_error)
    return window.io_runner.start(job)
