"""Pretrained backbones for training: find local ImageNet weights (never download) and load them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

import torch
import torchvision
from torch import nn

from sorter.core.errors import SorterError
from sorter.core.model.arch_names import PAIR
from sorter.core.model.meta import IMAGENET
from sorter.core.model.networks import ARCHS, FASTAI_CUTS
from sorter.core.model.pretrained import SharedBody, body_state, pair_network, weight_folders

log = logging.getLogger(__name__)


class BackboneError(SorterError):
    """A backbone's pretrained weights are missing, damaged or do not fit."""


# EfficientNet-Lite0's ImageNet weights as released (assets/weights/LICENSE says where from).
LITE0_FILE = "efficientnet-lite0-57934424.pth"


def weight_file_names(arch: str) -> list[str]:
    """The file names of this arch's ImageNet weights: torchvision's (V1 first), and for the
    MobileNetV2 + EfficientNet-Lite0 pair, the Lite0 file (the MobileNetV2 half is looked up
    as mobilenet_v2)."""
    if arch == PAIR:
        return [LITE0_FILE]
    return [w.url.rsplit("/", 1)[1] for w in torchvision.models.get_model_weights(arch)]


def find_pretrained_weights(arch: str) -> Path | None:
    """Local ImageNet weights for `arch`: Sorter's assets, then torch's own hub cache.

    Only ever reads files already on disk; returns None when there are none.
    """
    if arch not in ARCHS:
        raise SorterError(f"Unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}.")
    if arch == PAIR and find_pretrained_weights("mobilenet_v2") is None:
        return None  # the pair needs both halves
    for folder in weight_folders():
        for name in weight_file_names(arch):
            if (folder / name).is_file():
                return folder / name
    return None


def pretrained_files(arch: str) -> list[Path] | None:
    """Every ImageNet weights file `arch` is built from (the pair: MobileNetV2's, then
    Lite0's), or None when one is missing."""
    found = find_pretrained_weights(arch)
    if found is None or arch != PAIR:
        return None if found is None else [found]
    mobilenet = find_pretrained_weights("mobilenet_v2")
    return None if mobilenet is None else [mobilenet, found]


def shared_body(arch: str, builder: str = "fastai") -> SharedBody | None:
    """The body a model of `arch` in `builder`'s layout starts from, as the shipped files give
    it: what save_model leaves out of a model file whose body is still that one. None when
    there is no such file or it does not load (the model is then stored whole)."""
    files = pretrained_files(arch) if arch in ARCHS else None
    if files is None:
        return None
    try:
        state = body_state(arch, files, builder)
    except (ValueError, RuntimeError, SorterError) as exc:
        log.warning("The pretrained weights of %s cannot be shared: %s", arch, exc)
        return None
    return SharedBody(tuple(f.name for f in files), state)


def torchvision_pretrained(arch: str, weights: Path) -> nn.Module:
    """The torchvision network with the ImageNet weights from `weights` (read safely).

    For the MobileNetV2 + EfficientNet-Lite0 pair, `weights` is the Lite0 file and the
    MobileNetV2 half comes from find_pretrained_weights("mobilenet_v2").
    """
    if arch == PAIR:
        return _pair_pretrained(weights)
    network = getattr(torchvision.models, arch)(weights=None)
    state = _read_state(weights, arch)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # other tensors than this arch's
        raise BackboneError(
            f"The pretrained weights {weights} cannot be used for {arch}: {exc}"
        ) from exc
    return network


def _read_state(weights: Path, arch: str) -> dict[str, torch.Tensor]:
    try:
        return torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BackboneError(
            f"The pretrained weights {weights} cannot be used for {arch}: {exc}"
        ) from exc


def _pair_pretrained(lite_weights: Path) -> nn.Module:
    mobilenet_weights = find_pretrained_weights("mobilenet_v2")
    if mobilenet_weights is None:
        raise BackboneError(f"{PAIR} needs MobileNetV2's ImageNet weights, and none are installed.")
    try:
        return pair_network(mobilenet_weights, lite_weights)
    except (ValueError, RuntimeError, SorterError) as exc:
        raise BackboneError(
            f"The pretrained weights {lite_weights} cannot be used for EfficientNet-Lite0: {exc}"
        ) from exc


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
