"""Helpers for the retraining tests: noisy colour photos and a tiny model trained on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 30)
YELLOW = (230, 220, 40)  # far from red and blue even at 32 px, unlike green


def noisy_image(path: Path, rgb: tuple[int, int, int], seed: int) -> Path:
    """A small real photo-like image: one colour plus noise (so no two are identical)."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(rgb)[None, None, :] + rng.normal(0, 25, (40, 40, 3)), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def make_training_folder(root: Path) -> Path:
    """12 red and 12 blue photos in one folder per category."""
    for i in range(12):
        noisy_image(root / "red" / f"r{i}.png", RED, i)
        noisy_image(root / "blue" / f"b{i}.png", BLUE, 100 + i)
    return root


def train_tiny(data: Path, out: Path) -> Path:
    """A real quick-trained model (the training module's API) at 32 px: seconds on a CPU."""
    from sorter.core.training.data import load_training_data
    from sorter.core.training.train import TrainOptions, train

    train(load_training_data(data), out, TrainOptions(input_size=32, epochs=15))
    return out
