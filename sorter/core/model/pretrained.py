"""The ImageNet weights Sorter ships, loaded into its own network layouts (no torchvision import).

A model trained in quick mode leaves its networks' weights as they came; only its head is new.
Such a model is stored "compact": its file holds the head, names the shipped weights files,
and carries the checksum of the body they give (format version 2, modelfile). Reading it
rebuilds the body from those files here. Training uses pair_network too, so the body a compact
file is completed with is the body it was trained on.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from sorter import appdirs
from sorter.core.model.arch_names import PAIR
from sorter.core.model.archs import CONSTRUCTORS
from sorter.core.model.effnet_lite import MobileNetV2Lite0, lite0_state_from_release
from sorter.core.model.networks import FASTAI_CUTS
from sorter.core.model.safe_load import safe_torch_load

log = logging.getLogger(__name__)

MAX_PADDED = 1 << 26  # elements: a head's largest tensor has 2.6 million (5,120 x 512)
BODY_PREFIX = "0."  # where fastai's layout (body, head) keeps the body's tensors
BUILDERS = ("fastai", "torchvision")  # networks.BUILDERS: the layouts a body can be shared in


@dataclass(frozen=True)
class SharedBody:
    """A body's tensors as the shipped weights files give them, keyed as in the model, and the
    names of those files (no folders: they are looked up again)."""

    files: tuple[str, ...]
    state: Mapping[str, torch.Tensor]


def weight_folders() -> list[Path]:
    """Where pretrained weights are looked for: Sorter's assets, then torch's own hub cache."""
    return [appdirs.asset_path("weights"), Path(torch.hub.get_dir()) / "checkpoints"]


def find_weight_file(name: str) -> Path | None:
    """The first weight_folders() file called `name`; None when none is on disk."""
    for folder in weight_folders():
        if (folder / name).is_file():
            return folder / name
    return None


def _state(path: Path) -> dict[str, torch.Tensor]:
    state = safe_torch_load(path)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path.name} holds no network weights")
    return state


def pair_network(mobilenet_file: Path, lite_file: Path) -> nn.Module:
    """MobileNetV2 and EfficientNet-Lite0 side by side with their ImageNet weights: torchvision's
    MobileNetV2 file and EfficientNet-Lite0's file as released.

    Raises:
        ValueError, RuntimeError: a file holds other tensors than its network's.
        ModelFileError: a file is missing, damaged or unsafe.
    """
    network = MobileNetV2Lite0()
    mobilenet = CONSTRUCTORS["mobilenet_v2"]()
    mobilenet.load_state_dict(_state(mobilenet_file), strict=True)
    network.features.mobilenet.load_state_dict(mobilenet.features.state_dict(), strict=True)
    lite = lite0_state_from_release(_state(lite_file))
    prefix = "features."
    features = {k.removeprefix(prefix): v for k, v in lite.items() if k.startswith(prefix)}
    network.features.lite.load_state_dict(features, strict=True)
    return network


def body_state(
    arch: str, files: Sequence[Path], builder: str = "fastai"
) -> dict[str, torch.Tensor]:
    """The body of `arch` (all but its classifier: fastai's cut) with the weights of `files`
    (the pair: MobileNetV2's, then Lite0's), keyed as in a `builder` model's state_dict:
    under BODY_PREFIX for fastai's (body, head), under the modules' own names for torchvision's
    layout (features.*, whose classifier a retrain of the built-in model replaces).

    Raises:
        ValueError, RuntimeError, ModelFileError: as pair_network, the wrong number of files,
            or an unknown builder.
    """
    if builder not in BUILDERS:
        raise ValueError(f"no shared body for the {builder!r} layout")
    if arch == PAIR:
        if len(files) != 2:
            raise ValueError(f"{PAIR} needs two weights files, not {len(files)}")
        network = pair_network(files[0], files[1])
    else:
        if len(files) != 1 or arch not in CONSTRUCTORS:
            raise ValueError(f"no shipped body for {arch} from {len(files)} file(s)")
        network = CONSTRUCTORS[arch]()
        network.load_state_dict(_state(files[0]), strict=True)
    kept = list(network.named_children())[: FASTAI_CUTS[arch]]
    if builder == "torchvision":
        return {f"{name}.{k}": v for name, child in kept for k, v in child.state_dict().items()}
    body = nn.Sequential(*(child for _, child in kept))
    return {BODY_PREFIX + k: v for k, v in body.state_dict().items()}


def split_shared(
    state_dict: Mapping[str, torch.Tensor], shared: SharedBody
) -> dict[str, torch.Tensor] | None:
    """The tensors of `state_dict` other than the shared body's, when every tensor of that body
    is in it unchanged (same dtype, shape and values); None when any differs (fine-tuned)."""
    for key, tensor in shared.state.items():
        mine = state_dict.get(key)
        if mine is None or mine.dtype != tensor.dtype or not torch.equal(mine.cpu(), tensor):
            return None
    return {k: v for k, v in state_dict.items() if k not in shared.state}


def trim_zero_rows(
    state: Mapping[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, list[int]]]:
    """`state` with the all-zero rows at the end of each tensor left out, and the full shape
    of each tensor so trimmed. Quick mode's head holds its probe in the first rows of a
    512-row layer and zeros below: trimmed, 10 MB of zeros become nothing."""
    kept: dict[str, torch.Tensor] = {}
    shapes: dict[str, list[int]] = {}
    for key, tensor in state.items():
        rows = tensor.reshape(len(tensor), -1).any(dim=1) if tensor.dim() else None
        used = int(rows.nonzero().max()) + 1 if rows is not None and bool(rows.any()) else 0
        if tensor.dim() and used < len(tensor):
            kept[key] = tensor[:used].clone()
            shapes[key] = list(tensor.shape)
        else:
            kept[key] = tensor
    return kept, shapes


def restore_zero_rows(
    state: Mapping[str, torch.Tensor], shapes: Mapping[str, Sequence[int]]
) -> dict[str, torch.Tensor]:
    """trim_zero_rows undone: each tensor named in `shapes` padded with zero rows to its shape.

    Raises:
        ValueError: a shape that does not fit its stored rows.
    """
    full = dict(state)
    for key, shape in shapes.items():
        stored = full.get(key)
        if stored is None or list(stored.shape[1:]) != list(shape[1:]) or len(stored) > shape[0]:
            raise ValueError(f"{key} does not fit the shape {list(shape)}")
        if math.prod(shape) > MAX_PADDED:  # a damaged shape must not ask for gigabytes of zeros
            raise ValueError(f"{key} has an impossible shape {list(shape)}")
        padded = torch.zeros(tuple(shape), dtype=stored.dtype)
        padded[: len(stored)] = stored
        full[key] = padded
    return full
