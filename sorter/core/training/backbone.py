"""Pretrained backbones for training: find local ImageNet weights (never download) and load them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

import torch
import torchvision
from torch import nn

from sorter import appdirs
from sorter.core.errors import SorterError
from sorter.core.model.meta import IMAGENET
from sorter.core.model.networks import ARCHS, FASTAI_CUTS

log = logging.getLogger(__name__)


class BackboneError(SorterError):
    """A backbone's pretrained weights are missing, damaged or do not fit."""


def weight_file_names(arch: str) -> list[str]:
    """The file names torchvision gives this arch's ImageNet weights (V1 first)."""
    return [w.url.rsplit("/", 1)[1] for w in torchvision.models.get_model_weights(arch)]


def find_pretrained_weights(arch: str) -> Path | None:
    """Local ImageNet weights for `arch`: Sorter's assets, then torch's own hub cache.

    Only ever reads files already on disk; returns None when there are none.
    """
    if arch not in ARCHS:
        raise SorterError(f"Unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}.")
    folders = [appdirs.asset_path("weights"), Path(torch.hub.get_dir()) / "checkpoints"]
    for folder in folders:
        for name in weight_file_names(arch):
            if (folder / name).is_file():
                return folder / name
    return None


def torchvision_pretrained(arch: str, weights: Path) -> nn.Module:
    """The torchvision network with the ImageNet weights from `weights` (read safely)."""
    network = getattr(torchvision.models, arch)(weights=None)
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        network.load_state_dict(state, strict=True)
    except Exception as exc:
        raise BackboneError(
            f"The pretrained weights {weights} cannot be used for {arch}: {exc}"
        ) from exc
    return network


def pretrained_body(arch: str, weights: Path) -> nn.Sequential:
    """fastai's create_body cut of the pretrained network (same modules as networks.fastai_body)."""
    network = torchvision_pretrained(arch, weights)
    return nn.Sequential(*list(network.children())[: FASTAI_CUTS[arch]])


@cache
def fastai_local_arch(arch: str, weights_file: Path | None) -> Callable[..., nn.Module]:
    """An `arch` callable for fastai that loads local weights instead of downloading.

    fastai calls arch(weights=meta["weights"]) when pretrained; torchvision would then fetch the
    file from the internet. This callable reads `weights_file` from disk, and is registered in
    fastai's model_meta with the same cut and split as the torchvision arch it stands for.
    """
    from fastai.vision.learner import _default_meta, model_meta

    from sorter.core.model.fastai_compat import torchvision_arch

    original = torchvision_arch(arch)

    def local_arch(weights: object = None, **_: object) -> nn.Module:
        if weights is not None and weights_file is not None:
            return torchvision_pretrained(arch, weights_file)
        return original(weights=None)

    local_arch.__name__ = arch  # fastai and its logs name the arch by this
    base = model_meta.get(original, _default_meta)
    model_meta[local_arch] = {
        **base,
        "cut": FASTAI_CUTS[arch],
        "stats": ([*IMAGENET.mean], [*IMAGENET.std]),
        "weights": "local",
    }
    return local_arch
