"""The confidence slider, and an advanced panel with a threshold per category."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sorter.core.sorting.session import Thresholds

log = logging.getLogger(__name__)

STEPS = 100  # slider positions between 0 and 1
ADVANCED_COLUMNS = 3


class CategoryThresholdRow(QWidget):
    """One category: follows the slider, or keeps its own value when "own" is ticked."""

    changed = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.own = QCheckBox("own")
        self.own.setToolTip("Tick to give this category its own threshold instead of the slider's")
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, 1.0)
        self.spin.setSingleStep(0.01)
        self.spin.setDecimals(2)
        self.spin.setEnabled(False)
        self.own.toggled.connect(self._on_own_toggled)
        self.spin.valueChanged.connect(lambda _v: self.changed.emit())
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.spin)
        row.addWidget(self.own)
        row.addStretch(1)

    def _on_own_toggled(self, on: bool) -> None:
        self.spin.setEnabled(on)
        self.changed.emit()


class ThresholdPanel(QWidget):
    """Emits `changed(Thresholds)` at every move; the caller re-decides from cached scores."""

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, STEPS - 1)
        self.slider.setPageStep(5)
        self.slider.valueChanged.connect(self._on_slider_value_changed)
        self.value_label = QLabel()
        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.toggled.connect(self._on_advanced_button_toggled)
        self._grid_host = QWidget()
        self._grid = QGridLayout(self._grid_host)
        self.advanced = QScrollArea()  # many categories must not push the tiles off the window
        self.advanced.setWidgetResizable(True)
        self.advanced.setWidget(self._grid_host)
        self.advanced.setMaximumHeight(self.fontMetrics().height() * 11)
        self.advanced.setVisible(False)
        self.rows: dict[str, CategoryThresholdRow] = {}
        top = QHBoxLayout()
        top.addWidget(QLabel("Confidence needed:"))
        top.addWidget(QLabel("sort more"))
        top.addWidget(self.slider, 1)
        top.addWidget(QLabel("be stricter"))
        top.addWidget(self.value_label)
        top.addWidget(self.advanced_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.advanced)

    def set_categories(self, categories: list[str], th: Thresholds) -> None:
        """Rebuild the per-category rows and show `th` without emitting `changed`."""
        self._updating = True
        while self._grid.count():
            self._grid.takeAt(0).widget().deleteLater()
        self.rows = {}
        for i, name in enumerate(categories):
            row = CategoryThresholdRow(name)
            row.own.setChecked(name in th.own)
            row.spin.setValue(th.for_category(name))
            row.changed.connect(self._emit)
            label = QLabel(name)
            label.setTextFormat(Qt.TextFormat.PlainText)
            line, column = divmod(i, ADVANCED_COLUMNS)
            self._grid.addWidget(label, line, 2 * column)
            self._grid.addWidget(row, line, 2 * column + 1)
            self.rows[name] = row
        self.slider.setValue(round(th.default * STEPS))
        self._show_value()
        self._updating = False

    def thresholds(self) -> Thresholds:
        default = self.slider.value() / STEPS
        own = {n: r.spin.value() for n, r in self.rows.items() if r.own.isChecked()}
        return Thresholds(default, own)

    def _on_slider_value_changed(self, _value: int) -> None:
        self._show_value()
        # Rows that follow the slider show its value so the advanced panel stays truthful.
        self._updating, was = True, self._updating
        for row in self.rows.values():
            if not row.own.isChecked():
                row.spin.setValue(self.slider.value() / STEPS)
        self._updating = was
        self._emit()

    def _on_advanced_button_toggled(self, shown: bool) -> None:
        self.advanced.setVisible(shown)

    def _show_value(self) -> None:
        self.value_label.setText(f"{self.slider.value() / STEPS:.2f}")

    def _emit(self) -> None:
        if not self._updating:
            self.changed.emit(self.thresholds())
