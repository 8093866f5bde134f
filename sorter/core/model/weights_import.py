"""Turn bare fastai weights (learn.save / torch.save of a state_dict) into a Sorter model file."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sorter import __version__
from sorter.core.errors import BadPathError, ModelFileError
from sorter.core.model.meta import IMAGENET, RESIZE_METHODS, ModelMeta, Preprocessing, sigmoid_meta
from sorter.core.model.modelfile import save_model
from sorter.core.model.networks import ARCHS, fastai_network
from sorter.core.model.safe_load import safe_torch_load
from sorter.core.model.weights import load_weights

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

IMPORT_THRESHOLD = 0.5


def default_import_out(src: Path) -> Path:
    """weights.pth -> weights.sorter.pth beside it."""
    return src.with_name(f"{src.stem}.sorter.pth")


def _bare_state_dict(obj: object, src: Path) -> dict[str, torch.Tensor]:
    import torch

    if isinstance(obj, dict) and "state_dict" in obj and obj.get("format"):
        raise ModelFileError(f"{src} is already a Sorter model; nothing to import.")
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]  # learn.save(with_opt=True) minus the optimiser, if it got this far
    if not isinstance(obj, dict) or not obj:
        raise ModelFileError(f"{src} holds no state_dict (a dict of tensors).")
    if not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ModelFileError(f"{src} holds something other than tensors; not a state_dict.")
    return obj


def import_meta(
    src: Path,
    arch: str,
    categories: Sequence[str],
    resize_method: str = "crop",
    size: int = 224,
    normalize: bool = True,
) -> ModelMeta:
    """The metadata of an imported multi-label model: sigmoid scores, threshold 0.5 each."""
    return sigmoid_meta(
        arch,
        categories,
        Preprocessing(int(size), resize_method, IMAGENET if normalize else None),
        default_threshold=IMPORT_THRESHOLD,
        thresholds={c: IMPORT_THRESHOLD for c in categories},
        training={
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "imported_from": str(src),
            "note": "imported with sorter import-weights; trained outside Sorter",
            "image_counts": {},
            "metrics": {},
        },
        created_by=f"sorter {__version__}",
    )


def _check_args(src: Path, out: Path, arch: str, categories: Sequence[str], method: str) -> None:
    if not src.is_file():
        raise BadPathError(f"Weights file not found: {src}")
    if out.exists():
        raise BadPathError(f"{out} already exists; choose another --out (Sorter never overwrites).")
    if arch not in ARCHS:
        raise BadPathError(f"Unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}.")
    if method not in RESIZE_METHODS:
        raise BadPathError(f"Unknown resize method {method!r}; choose {', '.join(RESIZE_METHODS)}.")
    if not categories or len(set(categories)) != len(categories) or not all(categories):
        raise BadPathError("Give distinct, non-empty category names in output order.")


def import_weights(
    src: str | os.PathLike[str],
    arch: str,
    categories: Sequence[str],
    out: str | os.PathLike[str] | None = None,
    *,
    resize_method: str = "crop",
    size: int = 224,
    normalize: bool = True,
) -> Path:
    """Check bare weights against the fastai network for arch and write a Sorter model file.

    Raises:
        BadPathError: bad arguments, missing source, or out already exists.
        ModelFileError: unsafe or damaged file, or weights that do not fit (keys listed).
    """
    src = Path(src)
    dest = Path(out) if out is not None else default_import_out(src)
    _check_args(src, dest, arch, categories, resize_method)
    state_dict = _bare_state_dict(safe_torch_load(src), src)
    network = fastai_network(arch, len(categories))
    what = f"a fastai {arch} with {len(categories)} outputs"
    load_weights(network, state_dict, src, what)  # strict: every key and shape must match
    meta = import_meta(src, arch, categories, resize_method, size, normalize)
    save_model(dest, meta, network.state_dict())
    log.info("Imported %s as %s (%s, %d categories)", src, dest, arch, len(categories))
    return dest
