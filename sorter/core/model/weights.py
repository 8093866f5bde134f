"""Checks on a model's weights: their checksum, finite values, and their fit to the network."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

import torch

from sorter.core.errors import ModelFileError
from sorter.core.model.meta import ModelMeta
from sorter.core.text import some_of

log = logging.getLogger(__name__)

StateDict = Mapping[str, torch.Tensor]
PICK_ANOTHER = (
    "Choose another model: sorter models use default (or another version from sorter models list)."
)


def weights_checksum(state_dict: StateDict) -> str:
    """SHA-256 of the weights: per tensor in name order, its name, dtype and shape, then its bytes.

    Taken over the tensors rather than the file, so a file can carry its own checksum and the
    same weights give the same checksum however they are saved.
    """
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def nonfinite_tensors(state_dict: StateDict) -> list[str]:
    """Names of the floating-point tensors that hold NaN or an infinity."""
    return [
        name
        for name, tensor in state_dict.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


def names_of(names: list[str]) -> str:
    """ "a, b, c and 2 more": which tensors, for an error message."""
    return some_of(names, 3)


def check_weights(path: Path, meta: ModelMeta, state_dict: StateDict) -> None:
    """Refuse weights that differ from their recorded checksum, or that hold NaN or inf.

    Files saved before checksums (meta.state_dict_sha256 None) cannot be verified; that is logged.

    Raises:
        ModelFileError: naming the file and how to pick another model.
    """
    if meta.state_dict_sha256 is None:
        log.info("%s has no weights checksum (saved by an older Sorter); not verified", path)
    elif weights_checksum(state_dict) != meta.state_dict_sha256:
        raise ModelFileError(
            f"{path} is damaged: its weights do not match the checksum saved with them. "
            + PICK_ANOTHER
        )
    bad = nonfinite_tensors(state_dict)
    if bad:
        raise ModelFileError(
            f"{path} cannot be used: its weights hold NaN or infinite values ({names_of(bad)}). "
            + PICK_ANOTHER
        )


def load_weights(
    network: torch.nn.Module, state_dict: StateDict, where: Path, what: str = "the network"
) -> None:
    """load_state_dict(strict=True), turning a mismatch into one readable ModelFileError."""
    try:
        network.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        problem = describe_mismatch(network, state_dict, what)
        raise ModelFileError(f"{where}: {problem}") from exc


def describe_mismatch(
    network: torch.nn.Module, state_dict: StateDict, what: str = "the network"
) -> str:
    """Which keys are missing, unexpected, or of another shape, in a few words."""
    want = network.state_dict()
    missing = [k for k in want if k not in state_dict]
    unexpected = [k for k in state_dict if k not in want]
    shapes = [
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(v.shape)}"
        for k, v in want.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    parts = [f"the weights do not fit {what} (another architecture or number of outputs?)"]
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if items:
            parts.append(f"{len(items)} {label}: {some_of(items, 3)}")
    return "; ".join(parts) + "."
