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
    QLabel,
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
        self.model_edit.setMinimumWidth(28 * self.fontMetrics().height())  # a path fits
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._on_browse_clicked)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_edit, 1)
        model_row.addWidget(browse)
        self.model_hint = QLabel()  # which of the user's models the path is
        self.model_hint.setWordWrap(True)
        self.model_edit.textChanged.connect(self._on_model_edit_text_changed)
        self._on_model_edit_text_changed(self.model_edit.text())
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
        form.addRow("", self.model_hint)
        form.addRow("Run on:", self.device_box)
        form.addRow(self.skip_preview)
        form.addRow(self.reset_thresholds)
        form.addRow(buttons)
        self.model_changed = False

    def _on_model_edit_text_changed(self, text: str) -> None:
        self.model_hint.setText(model_hint(text.strip()))

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


def model_hint(path: str) -> str:
    """What the model file field names, in the words of the Model menu: "Model v2 (Shop stock),
    one of your models: Model > Manage models... lists them all."; "" for other files."""
    from sorter.core.learning.versions import (
        DEFAULT,
        is_stored_version,
        version_name_of,
        with_title,
    )

    name = version_name_of(path or None)  # an empty field: the built-in model
    if name == DEFAULT:
        return "The built-in model, the one Sorter comes with."
    if not is_stored_version(name):
        return ""
    called = with_title(name, path)
    return f"Model {called}, one of your models: Model > Manage models... lists them all."
