"""The status bar's retrain indicator: what the background retrain is doing, and Cancel."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from sorter.core.jobs import Progress
from sorter.gui.pages import format_eta

log = logging.getLogger(__name__)


def stage_progress(p: Progress) -> str:
    """ "Training 3 of 6 models, about 20 s left" (the stage's aside left out: the line is
    short; a tooltip can have it). The new-model dialog shows its training so too."""
    stage = p.stage.split(" (", 1)[0]
    count = f" {p.done} of {p.total} {p.unit}" if p.total else ""
    eta = f", about {format_eta(p.eta_s)} left" if p.eta_s is not None else ""
    return f"{stage}{count}{eta}"


def progress_text(p: Progress) -> str:
    """ "Retraining: Training 3 of 6 models, about 20 s left" """
    return f"Retraining: {stage_progress(p)}"


class RetrainStatus(QWidget):
    """Hidden until a retrain starts; a permanent status bar widget, so that the window's
    passing messages never hide it."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumWidth(6 * self.fontMetrics().height())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop retraining; the current model stays as it is")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(self.fontMetrics().height(), 0, 0, 0)  # apart from the model
        for widget in (self.label, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self.setVisible(False)

    def _say(self, text: str) -> None:
        self.label.setText(text)
        # Only ever wider while it runs: a width that follows each report would jitter.
        self.label.setMinimumWidth(max(self.label.minimumWidth(), self.label.sizeHint().width()))

    def start(self) -> None:
        self.label.setMinimumWidth(0)
        self._say("Retraining: starting...")
        self.bar.setRange(0, 0)  # busy until the first report says how much there is
        self.cancel_button.setEnabled(True)
        self.setVisible(True)

    def show_progress(self, p: Progress) -> None:
        if self.cancel_button.isEnabled():  # after Cancel, "Cancelling..." stays until it stops
            self._say(progress_text(p))
            self.label.setToolTip(p.stage)
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))

    def stop(self) -> None:
        self.setVisible(False)

    def _on_cancel_button_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self._say("Retraining: cancelling...")
        self.cancel_requested.emit()
