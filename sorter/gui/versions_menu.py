"""The Model menu: every stored model version (the one in use checked), to switch back."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu

from sorter.gui.worker import Job, JobError

log = logging.getLogger(__name__)

DEFAULT_TEXT = "default (the model Sorter came with)"


def version_text(version: Any) -> str:
    """ "v3  ·  2025-12-02  ·  retrained from v2 with 5 new correction(s)"."""
    parts = [version.name, version.created[:10], version.note]
    return "  ·  ".join(p for p in parts if p).replace("&", "&&")


def fill_versions_menu(window: Any, menu: QMenu, first: Any) -> None:
    """Rebuild the version entries above `first` (the menu's fixed entries) from the core."""
    from sorter.core.learning.versions import DEFAULT, list_versions, version_name_of

    for action in list(menu.actions()):
        if action.property("model_version") is not None:
            menu.removeAction(action)
            action.deleteLater()
    try:
        # The default's own entry needs no metadata: reading it would load its weights here.
        names = [(DEFAULT, DEFAULT_TEXT)] + [
            (v.name, version_text(v)) for v in list_versions(include_default=False)
        ]
    except Exception as exc:
        log.warning("Cannot list the model versions: %s", exc)
        names = []
    in_use = version_name_of(window.model_path)
    old_group = getattr(menu, "version_group", None)
    if old_group is not None:
        old_group.deleteLater()
    group = menu.version_group = QActionGroup(menu)
    for name, text in names:
        action = QAction(text, menu)
        menu.insertAction(first, action)
        action.setProperty("model_version", name)
        action.setCheckable(True)
        action.setChecked(name == in_use)
        group.addAction(action)
        action.triggered.connect(lambda _=False, n=name: switch_version(window, n))


def switch_version(window: Any, name: str) -> Job:
    """Make `name` the current model (in the settings, off the GUI thread) and load it."""
    from sorter.core.learning.versions import DEFAULT, use_version

    def finished(version: Any) -> None:
        path = None if version.name == DEFAULT else str(version.path)
        window.use_model_version(path, version.name)

    def failed(error: JobError) -> None:
        window.report_error(error)

    job = Job(use_version, name, with_progress=False)
    job.signals.finished.connect(finished)
    job.signals.failed.connect(failed)
    return window.io_runner.start(job)
