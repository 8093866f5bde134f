"""View > About the model: how the current model decides and how well it should sort."""

from __future__ import annotations

import pytest
from fakes import tiny_meta
from gui_helpers import open_main_window
from PySide6.QtWidgets import QMessageBox

CV_TRAINING = {
    "images": 60,
    "cross_validation": {
        "folds": 5,
        "spread": {
            "exact_folder": {"mean": 0.66, "sd": 0.08, "folds": 5},
            "top1": {"mean": 0.70, "sd": 0.05, "folds": 5},
            "placed_precision": {"mean": 0.75, "sd": 0.09, "folds": 5},
            "coverage": {"mean": 0.88, "sd": 0.04, "folds": 5},
        },
    },
    "warnings": ["The category 'owls' has only 3 image(s): its figures are rough estimates"],
}


@pytest.fixture
def trained_window(qtbot, tmp_path):
    import torch

    from sorter.core.model.modelfile import save_model
    from sorter.core.model.networks import build_network

    groups = {"cats": [0], "dogs": [1], "owls": [2]}
    meta = tiny_meta(
        tuple(groups), activation="softmax-groups", groups=groups, training=CV_TRAINING
    )
    path = tmp_path / "trained.pth"
    torch.manual_seed(0)
    save_model(path, meta, build_network(meta).state_dict())
    win = open_main_window(qtbot, path)
    yield win
    win.close()


def _about(window, qtbot) -> QMessageBox:
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    action = next(a for a in view_menu.actions() if a.text() == "About the &model...")
    action.trigger()
    box = window.findChild(QMessageBox, "model_details")
    qtbot.waitUntil(lambda: box is not None and box.isVisible(), timeout=5000)
    return box


def test_about_the_model_shows_the_cross_validated_figures(trained_window, qtbot, tmp_path):
    box = _about(trained_window, qtbot)
    text = box.text()
    assert text.startswith("Single-label: each photo goes to its best category")
    assert "3 categories: cats, dogs, owls." in text
    assert "5-fold cross-validation on the 60 example images" in text
    assert "66% ± 8%  images in exactly their own folder" in text
    assert "88% ± 4%  images placed at all" in text
    assert "Note: The category 'owls' has only 3 image(s)" in text
    box.grab().save(str(tmp_path / "about-model.png"))
    box.accept()


def test_a_model_without_measured_figures_says_so(window, qtbot):
    box = _about(window, qtbot)
    assert "Multi-label" in box.text()
    assert "No figures measured on example photos" in box.text()
    box.accept()
