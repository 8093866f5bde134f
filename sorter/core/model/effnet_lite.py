"""EfficientNet-Lite0 in plain torch, and the two-network body Sorter trains by default.

EfficientNet-Lite is EfficientNet without squeeze-and-excitation, with ReLU6 instead of swish
and a fixed stem and head, made for phones. Its ImageNet weights were trained in TensorFlow
with "same" padding, which pads a stride-2 convolution more on the right and bottom than on the
left and top; the padding here copies that for inputs whose size stays even at every stride-2
layer (224 px: 224, 112, 56, 28, 14), which is what Sorter feeds it.

`MobileNetV2Lite0` runs MobileNetV2 and EfficientNet-Lite0 side by side on the same picture and
puts their 7x7 maps together (1280 + 1280 channels). A probe on both sees two views of the image
learned differently; on ~10 photos per category it ranks the right category first 4-6 points
more often than MobileNetV2 alone (README, Training). The input is normalised with
ImageNet statistics, as MobileNetV2 wants; the Lite0 half converts it to the (x - 0.5) / 0.5
its weights were trained on, so a model file keeps one preprocessing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from sorter.core.model.archs import MOBILENET_V2_LAST, MobileNetV2
from sorter.core.model.meta import IMAGENET

# (expansion factor, kernel, output channels, repeats, stride of the first repeat).
LITE0_STAGES = (
    (1, 3, 16, 1, 1),
    (6, 3, 24, 2, 2),
    (6, 5, 40, 2, 2),
    (6, 3, 80, 3, 2),
    (6, 5, 112, 3, 1),
    (6, 5, 192, 4, 2),
    (6, 3, 320, 1, 1),
)
LITE0_STEM = 32
LITE0_LAST = 1280
BN_EPS = 1e-3  # TensorFlow's default, which the weights were trained with
# The normalisation EfficientNet-Lite's weights expect: (x - 0.5) / 0.5 on 0..1 pixels.
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)


class ConvBNAct(nn.Sequential):
    """Padding, conv (no bias), BatchNorm, then ReLU6 unless `act` is False: children 0..3."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        act: bool = True,
    ) -> None:
        if stride == 1:
            pad: nn.Module = nn.ZeroPad2d(kernel // 2)
        else:  # TensorFlow "same" at stride 2 on an even size: the extra pixel goes right/below
            before = (kernel - 2) // 2
            after = kernel - 2 - before
            pad = nn.ZeroPad2d((before, after, before, after))
        layers: list[nn.Module] = [
            pad,
            nn.Conv2d(c_in, c_out, kernel, stride, 0, groups=groups, bias=False),
            nn.BatchNorm2d(c_out, eps=BN_EPS),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class MBConv(nn.Module):
    """Lite's block: widen 1x1 (skipped at expansion 1), depthwise k x k, narrow 1x1, skip."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNAct(c_in, hidden, 1))
        layers += [
            ConvBNAct(hidden, hidden, kernel, stride, groups=hidden),
            ConvBNAct(hidden, c_out, 1, act=False),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_skip else out


def lite_features(stages: Sequence[tuple[int, int, int, int, int]] = LITE0_STAGES) -> nn.Sequential:
    """An EfficientNet-Lite body: stem, the MBConv blocks of `stages`, 1x1 head to 1280.

    Lite0 by default; the wider and deeper Lite1-4 keep the same stem and head with other
    stages (bench/third_network.py measures two of them)."""
    blocks: list[nn.Module] = [ConvBNAct(3, LITE0_STEM, 3, 2)]
    c_in = LITE0_STEM
    for expand, kernel, c_out, repeats, stride in stages:
        for i in range(repeats):
            blocks.append(MBConv(c_in, c_out, kernel, stride if i == 0 else 1, expand))
            c_in = c_out
    blocks.append(ConvBNAct(c_in, LITE0_LAST, 1))
    return nn.Sequential(*blocks)


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0: `features` (stem, 16 blocks, 1x1 head to 1280) then `classifier`."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.features = lite_features()
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(LITE0_LAST, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def lite0_state_from_release(release: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """EfficientNet-Lite0's released weights (`_conv_stem`, `_blocks.N._bn1`, `_fc`... names)
    renamed to this module's keys (state_by_position).

    Raises:
        ValueError: the release holds other tensors than EfficientNet-Lite0's.
    """
    return state_by_position(release, EfficientNetLite0().state_dict(), "EfficientNet-Lite0")


def state_by_position(
    release: Mapping[str, torch.Tensor], ours: Mapping[str, torch.Tensor], network: str
) -> dict[str, torch.Tensor]:
    """A released EfficientNet-Lite's tensors renamed to the keys of `ours` (a state_dict of
    `network`, e.g. "EfficientNet-Lite0").

    Both list the same tensors in the same order (stem, each block's convs and norms, head,
    classifier), so they pair up by position; every pair must agree in shape.

    Raises:
        ValueError: the release holds other tensors than `network`'s.
    """
    if len(release) != len(ours):
        raise ValueError(f"{len(release)} tensors where {network} has {len(ours)}: not its weights")
    state = {}
    for (name, tensor), (key, like) in zip(release.items(), ours.items(), strict=True):
        if tuple(tensor.shape) != tuple(like.shape):
            raise ValueError(
                f"{name} has shape {tuple(tensor.shape)} where {network}'s {key} "
                f"has {tuple(like.shape)}: not its weights"
            )
        state[key] = tensor
    return state


def lite_input(
    mean: tuple[float, ...], std: tuple[float, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift), each (1, 3, 1, 1): a batch normalised with `mean` and `std`, times
    scale plus shift, is the (x - 0.5) / 0.5 EfficientNet-Lite's weights were trained on."""
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    lm = torch.tensor(LITE_MEAN).view(1, 3, 1, 1)
    ls = torch.tensor(LITE_STD).view(1, 3, 1, 1)
    # lite input = (x * s + m - lm) / ls = x * scale + shift
    return s / ls, (m - lm) / ls


class PairFeatures(nn.Module):
    """MobileNetV2's and EfficientNet-Lite0's feature maps of one picture, channels side by side.

    Input: a batch normalised with ImageNet statistics. `mean` and `std` are those statistics;
    they rebuild the 0..1 pixels for the Lite0 half and are not stored in a model file.
    """

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.mobilenet = MobileNetV2().features
        self.lite = EfficientNetLite0().features
        scale, shift = lite_input(mean, std)
        self.register_buffer("scale", scale, persistent=False)
        self.register_buffer("shift", shift, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.mobilenet(x)
        b = self.lite(x * self.scale + self.shift)
        return torch.cat([a, b], 1)


class MobileNetV2Lite0(nn.Module):
    """Both networks as one: `features` (a PairFeatures, 2560 channels) then `classifier`.

    Laid out like torchvision's MobileNetV2, so fastai's cut of the last child gives the body.
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        self.features = PairFeatures(IMAGENET.mean, IMAGENET.std)
        width = MOBILENET_V2_LAST + LITE0_LAST
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2_lite0(num_classes: int = 1000) -> nn.Module:
    """MobileNetV2 and EfficientNet-Lite0 side by side, random weights."""
    return MobileNetV2Lite0(num_classes)
