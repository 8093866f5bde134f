"""Settings dialog: model file, device, preview, and the remembered thresholds."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QWidget,
)

from sorter.core.settings import Settings

log = logging.getLogger(__name__)

DEVICES = [("Automatic (GPU when there is one)", "auto"), ("CPU", "cpu"), ("GPU (CUDA)", "cuda")]


class SettingsDialog(QDialog):
    """Edits a copy of the settings; `apply()` writes the choices back into a Settings."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.original_model = settings.model_path
        self.model_edit = QLineEdit(settings.model_path or "")
        self.model_edit.setPlaceholderText("the built-in model")
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._on_browse_clicked)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_edit, 1)
        model_row.addWidget(browse)
        self.device_box = QComboBox()
        for text, value in DEVICES:
            self.device_box.addItem(text, value)
        self.device_box.setCurrentIndex(max(0, self.device_box.findData(settings.device)))
        self.skip_preview = QCheckBox("Copy straight away (skip the preview)")
        self.skip_preview.setChecked(settings.skip_preview)
        self.reset_thresholds = QCheckBox("Forget my thresholds (use the model's own)")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Model file:", model_row)
        form.addRow("Run on:", self.device_box)
        form.addRow(self.skip_preview)
        form.addRow(self.reset_thresholds)
        form.addRow(buttons)
        self.model_changed = False

    def _on_browse_clicked(self) -> None:
        start = self.model_edit.text() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a Sorter model", start, "Sorter models (*.pth *.json)"
        )
        if path:
            self.model_edit.setText(path)

    def apply(self, settings: Settings) -> None:
        model = self.model_edit.text().strip() or None
        device = self.device_box.currentData()
        self.model_changed = model != self.original_model or device != settings.device
        settings.model_path = model
        settings.device = device
        settings.skip_preview = self.skip_preview.isChecked()
        if self.reset_thresholds.isChecked():
            settings.default_threshold = None
            settings.thresholds = {}
