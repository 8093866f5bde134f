"""A tiny real Sorter model for tests of every layer (core, CLI, GUI)."""

from __future__ import annotations

from pathlib import Path


def tiny_meta(categories=("cats", "dogs", "cars"), arch="resnet18", **overrides):
    """Model metadata (a ModelMeta) for tests: fastai layout, sigmoid, threshold 0.5, 32 px
    squish, no normalisation; `overrides` replace or add keys of the stored dict."""
    from sorter.core.model.meta import ModelMeta

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
    return ModelMeta.from_dict(meta)


def make_tiny_model(path: Path, categories=("cats", "dogs", "cars"), arch="resnet18") -> Path:
    """A real Sorter model file (fastai layout, random weights, 32 px input): scores in ms."""
    import torch

    from sorter.core.model.modelfile import save_model
    from sorter.core.model.networks import build_network

    torch.manual_seed(0)
    meta = tiny_meta(categories, arch, training={"note": "random weights for tests"})
    save_model(path, meta, build_network(meta).state_dict())
    return path


def network_meta(arch: str = "resnet18", builder: str = "fastai", n_outputs: int = 2):
    """The smallest ModelMeta that build_network takes for (arch, builder, n_outputs): one
    category that sums every output's softmax, so any number of outputs is consistent."""
    from sorter.core.model.meta import ModelMeta, Preprocessing

    everything = {"all": list(range(n_outputs))}
    return ModelMeta(arch, builder, ["all"], "softmax-groups", n_outputs, Preprocessing(32),
                     groups=everything)  # fmt: skip
