"""Error dialog: one readable sentence first, the technical details only on request."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from sorter.gui.worker import JobError

log = logging.getLogger(__name__)


class ErrorDialog(QDialog):
    """Says what went wrong in one sentence; "Copy details" puts the traceback on the clipboard."""

    def __init__(self, error: JobError, title: str = "Sorter", parent: QWidget | None = None):
        super().__init__(parent)
        self.error = error
        self.setWindowTitle(title)
        self.message_label = QLabel(error.message)
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setMinimumWidth(self.fontMetrics().averageCharWidth() * 50)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_view = QPlainTextEdit(error.details)
        self.details_view.setReadOnly(True)
        self.details_view.setVisible(False)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self.show_button = QPushButton("Show details")
        self.show_button.setCheckable(True)
        self.show_button.toggled.connect(self._on_show_button_toggled)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.show_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.accepted.connect(self.accept)
        self._lay_out(buttons)

    def _lay_out(self, buttons: QDialogButtonBox) -> None:
        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize)
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size)
        )
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addWidget(self.message_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.details_view, 1)
        layout.addWidget(buttons)

    def _on_copy_button_clicked(self) -> None:
        QApplication.clipboard().setText(f"{self.error.message}\n\n{self.error.details}")
        self.copy_button.setText("Copied")

    def _on_show_button_toggled(self, shown: bool) -> None:
        self.details_view.setVisible(shown)
        self.adjustSize()


def show_error(parent: QWidget | None, error: JobError, title: str = "Sorter") -> ErrorDialog:
    """Open an ErrorDialog without blocking (window-modal) and return it."""
    log.warning("Shown to user: %s", error.message)
    dialog = ErrorDialog(error, title, parent)
    dialog.setModal(True)
    dialog.open()
    return dialog
