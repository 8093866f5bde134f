"""The correction queue window: what waits for retraining, and "Retrain..." when it exists."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

NOT_YET = "Retraining from corrections arrives in a later version; your corrections are kept."


def retrain_job() -> Any | None:
    """The core's retraining job, when this version has one."""
    try:
        from sorter.core.retrain import retrain
    except ImportError:
        return None
    return retrain


class QueueDialog(QDialog):
    """Lists the queued corrections; its Retrain button runs the core job when available."""

    def __init__(self, corrections: list, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Corrections waiting")
        self.list = QListWidget()
        for c in corrections:
            labels = ", ".join(c.labels) or "none of these"
            name = c.source_path.replace("\\", "/").rsplit("/", 1)[-1]
            self.list.addItem(f"{name}  →  {labels}")
        count = len(corrections)
        head = QLabel(f"<b>{count} correction{'s' if count != 1 else ''} waiting</b>")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.retrain_button = self.buttons.addButton(
            "Retrain...", QDialogButtonBox.ButtonRole.ActionRole
        )
        available = retrain_job() is not None
        self.retrain_button.setEnabled(available and count > 0)
        self.note.setText("" if available else NOT_YET)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(head)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)


def open_retrain(window: Any) -> QueueDialog | None:
    """Show the queue (non-blocking); errors reading it become one sentence."""
    from sorter.core.corrections import CorrectionQueue
    from sorter.gui.worker import JobError

    try:
        corrections = CorrectionQueue().list()
    except Exception as exc:
        window.report_error(JobError.from_exception(exc))
        return None
    dialog = QueueDialog(corrections, window)
    window.queue_dialog = dialog
    dialog.open()
    return dialog
