"""Which torch device runs a model: the CPU, or an NVIDIA GPU when one is usable."""

from __future__ import annotations

import logging

import torch

from sorter.core.errors import SorterError
from sorter.core.settings import DEVICES

log = logging.getLogger(__name__)


def pick_device(choice: str = "auto") -> torch.device:
    """cpu, cuda, or auto (cuda when a GPU is usable). Raises SorterError for an unusable choice."""
    if choice not in DEVICES:
        raise SorterError(f"Unknown device {choice!r}; choose one of {', '.join(DEVICES)}.")
    if choice == "cpu":
        return torch.device("cpu")
    problem = _cuda_problem()
    if problem is None:
        return torch.device("cuda")
    if choice == "cuda":
        raise SorterError(f"No usable NVIDIA GPU was found ({problem}); use --device cpu or auto.")
    log.info("No usable GPU (%s); using the CPU", problem)
    return torch.device("cpu")


def _cuda_problem() -> str | None:
    """None when CUDA works, else why not (unavailable, or a GPU this torch build cannot use)."""
    if not torch.cuda.is_available():
        return "CUDA unavailable"
    try:
        torch.zeros(1, device="cuda").add_(1)  # fails early on GPUs too old for this build
    except (RuntimeError, AssertionError) as exc:
        return f"CUDA error: {exc}"
    return None


def device_label(device: torch.device | str) -> str:
    """'GPU: <name>' or 'CPU', for people."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    return "CPU"
