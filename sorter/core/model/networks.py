"""Build the networks a model file describes in plain torch: no fastai, no torchvision import."""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from torch import nn

from sorter.core.errors import ModelFileError
from sorter.core.model.arch_names import ARCHS, PAIR
from sorter.core.model.archs import CONSTRUCTORS as PLAIN_CONSTRUCTORS
from sorter.core.model.effnet_lite import mobilenet_v2_lite0
from sorter.core.model.meta import ModelMeta

log = logging.getLogger(__name__)

# How many top-level children fastai's create_body keeps (its model_meta "cut"): resnets lose
# their avgpool and fc, MobileNetV2 its classifier (the cut that fastai_compat registers).
FASTAI_CUTS: dict[str, int] = {
    PAIR: -1,
    "mobilenet_v2": -1,
    "resnet18": -2,
    "resnet34": -2,
    "resnet50": -2,
}
# Channels the body puts out (what fastai's num_features_model measures with a dummy pass).
BODY_FEATURES: dict[str, int] = {
    PAIR: 2560,
    "mobilenet_v2": 1280,
    "resnet18": 512,
    "resnet34": 512,
    "resnet50": 2048,
}
BUILDERS = ("fastai", "torchvision")
CONSTRUCTORS: dict[str, Callable[..., nn.Module]] = {**PLAIN_CONSTRUCTORS, PAIR: mobilenet_v2_lite0}


class AdaptiveConcatPool2d(nn.Module):
    """Max and average pooling side by side, as fastai's layer of the same name (max first)."""

    def __init__(self, size: int = 1) -> None:
        super().__init__()
        self.size = size
        self.ap = nn.AdaptiveAvgPool2d(size)
        self.mp = nn.AdaptiveMaxPool2d(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.mp(x), self.ap(x)], 1)


class Flatten(nn.Module):
    """Flatten all but the batch dimension, as fastai's Flatten(full=False)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.size(0), -1)


def _constructor(arch: str) -> Callable[..., nn.Module]:
    # Local copies of torchvision's layouts (sorter.core.model.archs): importing torchvision costs
    # seconds of start-up and sorting needs none of it.
    if arch not in ARCHS:
        raise ModelFileError(f"Unknown architecture {arch!r}; Sorter knows {', '.join(ARCHS)}.")
    return CONSTRUCTORS[arch]


def fastai_body(arch: str) -> nn.Sequential:
    """The body fastai's create_body cuts from a torchvision-layout network (random weights)."""
    network = _constructor(arch)()
    return nn.Sequential(*list(network.children())[: FASTAI_CUTS[arch]])


def fastai_head(n_features: int, n_out: int, ps: float = 0.5) -> nn.Sequential:
    """fastai's default create_head: concat pool, flatten, then two BatchNorm-Dropout-Linear."""
    pooled = n_features * 2  # max and average pools side by side
    head = nn.Sequential(
        AdaptiveConcatPool2d(),
        Flatten(),
        nn.BatchNorm1d(pooled),
        nn.Dropout(ps / 2),
        nn.Linear(pooled, 512, bias=False),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(512),
        nn.Dropout(ps),
        nn.Linear(512, n_out, bias=False),
    )
    _init_head(head)
    return head


def _init_head(head: nn.Module) -> None:
    # fastai's apply_init: kaiming-normal weights and zero bias on every non-norm layer.
    for module in head.modules():
        if isinstance(module, nn.Linear):
            nn.init.kaiming_normal_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def fastai_network(arch: str, n_out: int) -> nn.Sequential:
    """Same modules, state_dict keys and forward as fastai's create_vision_model(arch, n_out)."""
    body = fastai_body(arch)
    return nn.Sequential(body, fastai_head(BODY_FEATURES[arch], n_out))


def torchvision_network(arch: str, n_out: int) -> nn.Module:
    """The plain torchvision-layout network with its own classifier of n_out outputs."""
    return _constructor(arch)(num_classes=n_out)


def build_network(meta: ModelMeta) -> nn.Module:
    """An untrained network shaped as meta.builder and meta.arch say, with n_outputs logits.

    Raises:
        ModelFileError: unknown builder or architecture.
    """
    builder, arch, n_out = meta.builder, meta.arch, meta.n_outputs
    if builder == "fastai":
        return fastai_network(arch, n_out)
    if builder == "torchvision":
        return torchvision_network(arch, n_out)
    known = ", ".join(BUILDERS)
    raise ModelFileError(f"Unknown network builder {builder!r}; Sorter knows {known}.")
