"""The backbone architectures Sorter builds, by name: a module without torch, so the command
line and the window can offer the choice without loading torch first."""

from __future__ import annotations

ARCHS: tuple[str, ...] = ("mobilenet_v2", "resnet18", "resnet34", "resnet50")
