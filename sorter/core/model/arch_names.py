"""The backbone architectures Sorter builds, by name: a module without torch, so the command
line and the window can offer the choice without loading torch first."""

from __future__ import annotations

# MobileNetV2 and EfficientNet-Lite0 side by side (sorter.core.model.effnet_lite): what training
# uses unless told otherwise.
PAIR = "mobilenet_v2+efficientnet_lite0"
DEFAULT_ARCH = PAIR
# One network each: what a user's own weights or fastai Learner can be.
SINGLE_ARCHS: tuple[str, ...] = ("mobilenet_v2", "resnet18", "resnet34", "resnet50")
ARCHS: tuple[str, ...] = (PAIR, *SINGLE_ARCHS)
