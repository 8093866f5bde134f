"""GUI test helpers: a tiny real model, a folder of small real photos, a ready main window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from sorter.core.settings import Settings

COLOURS = [(220, 20, 20), (20, 20, 220), (120, 120, 120), (200, 10, 200), (20, 200, 20)]


def make_tiny_model(path: Path, categories=("cats", "dogs", "cars")) -> Path:
    """A real Sorter model file (fastai resnet18 layout, random weights, 32 px input)."""
    import torch

    from sorter.core.model import save_model
    from sorter.core.networks import build_network

    torch.manual_seed(0)
    meta = {
        "arch": "resnet18",
        "builder": "fastai",
        "categories": list(categories),
        "activation": "sigmoid",
        "n_outputs": len(categories),
        "default_threshold": 0.5,
        "thresholds": {},
        "input_size": 32,
        "resize_method": "squish",
        "normalize": None,
        "training": {"note": "random weights for GUI tests"},
    }
    save_model(path, meta, build_network(meta).state_dict())
    return path


def make_photos(folder: Path, count: int) -> Path:
    """`count` small real images of varied colours and patterns (so scores differ)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img = Image.new("RGB", (40, 30), COLOURS[i % len(COLOURS)])
        img.paste((i * 37 % 256, i * 91 % 256, i * 53 % 256), (0, 0, 10 + i % 25, 15))
        img.save(folder / f"photo_{i:03d}.{'jpg' if i % 2 else 'png'}")
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pth")


@pytest.fixture
def photos(tmp_path) -> Path:
    return make_photos(tmp_path / "Holiday photos", 12)


@pytest.fixture
def window(qtbot, tiny_model):
    """The main window with the tiny model loaded."""
    from sorter.gui.main_window import MainWindow

    win = MainWindow(settings=Settings(), model_path=str(tiny_model))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model_ready, timeout=60_000):
        win.start_loading_model()
    yield win
    win.close()
