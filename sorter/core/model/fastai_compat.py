"""The one place that imports fastai for model building: arch registration and its networks."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from torch import nn

from sorter.core.errors import ModelFileError
from sorter.core.model.arch_names import PAIR
from sorter.core.model.effnet_lite import mobilenet_v2_lite0
from sorter.core.model.networks import ARCHS, FASTAI_CUTS

log = logging.getLogger(__name__)

_lock = threading.Lock()


def register_mobilenet_v2() -> None:
    """Teach fastai 2.8 how to cut MobileNetV2 (without it vision_learner fails: StopIteration).

    Idempotent. The cut matches sorter.core.model.networks, so fastai-trained MobileNetV2 models
    load into the plain-torch network that sorting uses.
    """
    from torchvision.models import mobilenet_v2

    # the V1 file Sorter ships, not torchvision's DEFAULT (V2)
    _register(mobilenet_v2, "mobilenet_v2", weights="IMAGENET1K_V1")


def torchvision_arch(name: str) -> Callable[..., nn.Module]:
    """The torchvision constructor fastai expects as `arch`, registered where fastai needs it."""
    import torchvision

    if name not in ARCHS:
        raise ModelFileError(f"Unknown architecture {name!r}; Sorter knows {', '.join(ARCHS)}.")
    if name == PAIR:
        _register(_pair_arch, PAIR)
        return _pair_arch
    if name == "mobilenet_v2":
        register_mobilenet_v2()
    return getattr(torchvision.models, name)


def _pair_arch(weights: object = None, pretrained: bool = False, **kwargs: Any) -> nn.Module:
    """The MobileNetV2 + EfficientNet-Lite0 pair as fastai calls an arch, with random weights
    (pretrained ones come through backbone.fastai_local_arch, which reads them from disk)."""
    if weights is not None or pretrained:
        raise ModelFileError(f"{PAIR}'s pretrained weights load through fastai_local_arch.")
    return mobilenet_v2_lite0(**kwargs)


_pair_arch.__name__ = PAIR


def _register(arch: Callable[..., nn.Module], name: str, **more: str) -> None:
    """Put `arch` in fastai's model_meta with Sorter's cut for `name` and ImageNet statistics
    (fastai otherwise looks for a pooling child to cut at, and finds none in MobileNetV2 or the
    pair). Idempotent."""
    from fastai.vision.all import imagenet_stats
    from fastai.vision.learner import _default_meta, model_meta

    with _lock:
        if arch in model_meta:
            return
        model_meta[arch] = {
            **_default_meta, "cut": FASTAI_CUTS[name], "stats": imagenet_stats, **more
        }  # fmt: skip
        log.debug("Registered %s with fastai", name)


def fastai_vision_model(name: str, n_out: int, **kwargs: Any) -> nn.Module:
    """fastai's own create_vision_model(arch, n_out, pretrained=False): the reference network."""
    from fastai.vision.learner import create_vision_model

    return create_vision_model(torchvision_arch(name), n_out, pretrained=False, **kwargs)
