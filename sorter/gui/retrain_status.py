"""The status bar's retrain indicator: what the background retrain is doing, and Cancel."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from sorter.core.jobs import Progress
from sorter.gui.pages import format_eta

log = logging.getLogger(__name__)


def progress_text(p: Progress) -> str:
    """ "Retraining: Learning 3 of 10 epochs, about 20 s left"."""
    count = f" {p.done} of {p.total} {p.unit}" if p.total else ""
    eta = f", about {format_eta(p.eta_s)} left" if p.eta_s is not None else ""
    return f"Retraining: {p.stage}{count}{eta}"


class RetrainStatus(QWidget):
    """Hidden until a retrain starts; a permanent status bar widget, so that the window's
    passing messages never hide it."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(8 * self.fontMetrics().height())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop retraining; the current model stays as it is")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self.setVisible(False)

    def start(self) -> None:
        self.label.setText("Retraining: starting...")
        self.bar.setRange(0, 0)  # busy until the first report says how much there is
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def show_progress(self, p: Progress) -> None:
        if self.cancel_button.isEnabled():  # after Cancel, "Cancelling..." stays until it stops
            self.label.setText(progress_text(p))
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))

    def stop(self) -> None:
        self.setVisible(False)

    def _on_cancel_button_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Retraining: cancelling...")
        self.cancel_requested.emit()
