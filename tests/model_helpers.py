"""A tiny real Sorter model for tests of every layer (core, CLI, GUI)."""

from __future__ import annotations

from pathlib import Path


def tiny_meta(categories=("cats", "dogs", "cars"), arch="resnet18", **overrides) -> dict:
    """Model metadata for tests: fastai layout, sigmoid, threshold 0.5, 32 px squish, no
    normalisation; `overrides` replace or add keys."""
    meta = {
        "arch": arch,
        "builder": "fastai",
        "categories": list(categories),
        "activation": "sigmoid",
        "n_outputs": len(categories),
        "default_threshold": 0.5,
        "thresholds": {},
        "input_size": 32,
        "resize_method": "squish",
        "normalize": None,
    }
    meta.update(overrides)
    return meta


def make_tiny_model(path: Path, categories=("cats", "dogs", "cars"), arch="resnet18") -> Path:
    """A real Sorter model file (fastai layout, random weights, 32 px input): scores in ms."""
    import torch

    from sorter.core.model.modelfile import save_model
    from sorter.core.model.networks import build_network

    torch.manual_seed(0)
    meta = tiny_meta(categories, arch, training={"note": "random weights for tests"})
    save_model(path, meta, build_network(meta).state_dict())
    return path
