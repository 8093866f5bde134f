"""The model file: save and load weights with their metadata, pick the device, score batches."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from sorter import appdirs
from sorter.core.errors import ModelFileError, OutOfSpaceError
from sorter.core.files import file_sha256
from sorter.core.model.device import device_label, pick_device
from sorter.core.model.fold_bn import fold_batchnorm
from sorter.core.model.meta import IMAGENET, RESIZE_METHODS, ModelMeta
from sorter.core.model.networks import build_network
from sorter.core.model.pretrained import (
    SharedBody,
    body_state,
    find_weight_file,
    restore_zero_rows,
    split_shared,
    trim_zero_rows,
)
from sorter.core.model.safe_load import safe_torch_load
from sorter.core.model.weights import (
    StateDict,
    check_weights,
    load_weights,
    names_of,
    nonfinite_tensors,
    weights_checksum,
)
from sorter.core.settings import load_settings

log = logging.getLogger(__name__)

__all__ = [
    "COMPACT_VERSION",
    "FORMAT",
    "IMAGENET",
    "RESIZE_METHODS",
    "VERSION",
    "LoadedModel",
    "ModelMeta",
    "build_network",
    "current_model_path",
    "default_model_path",
    "device_label",
    "load_model",
    "pick_device",
    "read_json_model",
    "read_model_file",
    "save_model",
    "weights_checksum",
]

FORMAT = "sorter-model"
VERSION = 1  # a file that holds every weight of its network
COMPACT_VERSION = 2  # a file whose network body is the shipped ImageNet weights (pretrained.py)
VERSIONS = (VERSION, COMPACT_VERSION)


def save_model(
    path: str | os.PathLike[str],
    meta: ModelMeta,
    state_dict: StateDict,
    shared: SharedBody | None = None,
) -> str:
    """Write a sorter model file atomically: a temporary file in the same folder, then rename.

    On disk the metadata is meta.to_dict(), the plain dict of format version 1, with
    state_dict_sha256 set to weights_checksum() of the weights written. With `shared`, and a
    body every tensor of which is still the shipped one, the file is compact (version 2): it
    leaves those tensors out, names their files instead, and cuts the all-zero rows at the
    end of its own tensors (quick mode's head: about 330 KB instead of 33 MB);
    state_dict_sha256 still covers every tensor, so reading checks the rebuilt body too.
    Returns that checksum.

    Raises:
        ModelFileError: the folder is missing, the weights hold NaN or inf, or writing failed.
        OutOfSpaceError: the disk is full (the file is not written).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ModelFileError(f"Could not write {path}: the folder {path.parent} does not exist.")
    tensors = {k: v.detach().cpu() for k, v in state_dict.items()}
    bad = nonfinite_tensors(tensors)
    if bad:
        raise ModelFileError(f"Could not write {path}: the weights hold NaN or infinite values "
                             f"({names_of(bad)}); training went wrong.")  # fmt: skip
    checksum = weights_checksum(tensors)
    stored = meta.replace(state_dict_sha256=checksum).to_dict()
    payload = {"format": FORMAT, "version": VERSION, "meta": stored, "state_dict": tensors}
    own = split_shared(tensors, shared) if shared is not None else None
    if shared is not None and own is not None:
        own, shapes = trim_zero_rows(own)
        body = {"files": list(shared.files), "sha256": weights_checksum(shared.state)}
        payload.update(version=COMPACT_VERSION, state_dict=own, shared_body=body)
        payload["zero_rows"] = shapes
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        torch.save(payload, tmp, pickle_protocol=4)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # torch's zip writer reports I/O errors as RuntimeError
        if getattr(exc, "errno", None) == errno.ENOSPC:
            raise OutOfSpaceError(f"The disk is full; {path} was not written.") from exc
        raise ModelFileError(f"Could not write the model file {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    kind = "compact, body from " + ", ".join(shared.files) if "shared_body" in payload else "whole"
    log.info("Saved model %s (%s, %d categories; %s)", path, meta.arch, len(meta.categories), kind)
    return checksum


def _looks_like_state_dict(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def read_model_file(path: str | os.PathLike[str]) -> tuple[ModelMeta, dict[str, torch.Tensor]]:
    """(meta, state_dict) of a sorter .pth file, read without running code from it.

    Raises:
        ModelFileError: unsafe, damaged, bare weights, unknown version or incomplete meta;
            weights that fail their checksum or hold NaN or inf (check_weights).
    """
    path = Path(path)
    obj = safe_torch_load(path)
    if _looks_like_state_dict(obj):
        raise ModelFileError(
            f"{path} holds bare network weights without Sorter's metadata; turn it into a Sorter "
            "model with: sorter import-weights FILE --arch ARCH --categories a,b,c"
        )
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ModelFileError(f"{path} is a PyTorch file but not a Sorter model.")
    if obj.get("version") not in VERSIONS:
        raise ModelFileError(
            f"{path} uses Sorter model format version {obj.get('version')!r}; this Sorter reads "
            f"versions {VERSION} and {COMPACT_VERSION}. A newer Sorter may open it."
        )
    raw, state_dict = obj.get("meta"), obj.get("state_dict")
    if not isinstance(raw, dict) or not _looks_like_state_dict(state_dict):
        raise ModelFileError(f"{path} is an incomplete Sorter model (no metadata or weights).")
    meta = ModelMeta.from_dict(raw, path)
    if obj["version"] == COMPACT_VERSION:
        own = _own_tensors(path, state_dict, obj.get("zero_rows", {}))
        state_dict = {**_shared_body(path, meta, obj.get("shared_body")), **own}
    check_weights(path, meta, state_dict)
    return meta, state_dict


def _own_tensors(
    path: Path, state_dict: dict[str, torch.Tensor], shapes: object
) -> dict[str, torch.Tensor]:
    """A compact file's own tensors with the zero rows it left out put back."""
    if not isinstance(shapes, dict) or not all(
        isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)
        for shape in shapes.values()
    ):
        raise ModelFileError(f"{path} is an incomplete Sorter model (its tensor shapes are lost).")
    try:
        return restore_zero_rows(state_dict, shapes)
    except ValueError as exc:
        raise ModelFileError(f"{path} is damaged: {exc}.") from exc


# A shipped file is named, never pointed at: no folders, so a file cannot send the lookup elsewhere
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.pth")


def _shared_body(path: Path, meta: ModelMeta, body: object) -> dict[str, torch.Tensor]:
    """The body a compact file names, rebuilt from the shipped files and checked."""
    if not (
        isinstance(body, dict)
        and isinstance(body.get("files"), list)
        and all(isinstance(name, str) and _PLAIN_NAME.fullmatch(name) for name in body["files"])
        and isinstance(body.get("sha256"), str)
    ):
        raise ModelFileError(f"{path} is an incomplete Sorter model (its network is not named).")
    names = body["files"]
    files = [find_weight_file(name) for name in names]
    missing = [name for name, file in zip(names, files, strict=True) if file is None]
    if missing:
        raise ModelFileError(
            f"{path} needs the network weights that come with Sorter ({', '.join(missing)}), and "
            "they are not installed. Reinstall Sorter, or save a copy of the model from the "
            "Sorter that made it (Model > Manage models > Save a copy...)."
        )
    try:
        state = body_state(meta.arch, [file for file in files if file is not None], meta.builder)
    except (ValueError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: the network weights it names do not fit: {exc}") from exc
    if weights_checksum(state) != body["sha256"]:
        raise ModelFileError(
            f"{path} was made with other network weights than this Sorter's "
            f"({', '.join(names)}). Open it with the Sorter that made it and save a copy there "
            "(Model > Manage models > Save a copy...): a copy holds every weight."
        )
    return state


def shared_files(path: str | os.PathLike[str]) -> list[str]:
    """The shipped weights files a compact model file (version 2) names; [] for a whole one.

    Raises:
        ModelFileError: as safe_torch_load.
    """
    obj = safe_torch_load(Path(path))
    body = obj.get("shared_body") if isinstance(obj, dict) else None
    files = body.get("files") if isinstance(body, dict) else None
    return [str(name) for name in files] if isinstance(files, list) else []


def default_model_path() -> Path:
    """The embedded default model: metadata JSON naming the bundled weights."""
    return appdirs.asset_path("models", "default.json")


def current_model_path() -> Path:
    """The model the user picked (settings), else the embedded default."""
    chosen = load_settings().model_path
    return Path(chosen) if chosen else default_model_path()


def _json_weights_path(json_path: Path, name: str) -> Path:
    # The weights sit beside the JSON, or in the sibling weights/ folder of the assets.
    for candidate in (json_path.parent / name, json_path.parent.parent / "weights" / name):
        if candidate.is_file():
            return candidate
    raise ModelFileError(f"The weights file {name} named by {json_path} is missing.")


def read_json_model(path: Path) -> tuple[ModelMeta, dict[str, torch.Tensor]]:
    """(meta, state_dict) of a model described by JSON metadata plus a separate weights file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelFileError(f"Model file not found: {path}") from exc
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path} is not readable model metadata: {exc}") from exc
    if not isinstance(raw, dict) or "weights_file" not in raw:
        raise ModelFileError(f"{path} does not name a weights_file.")
    if raw.get("format", FORMAT) != FORMAT or raw.get("version", VERSION) != VERSION:
        raise ModelFileError(f"{path} is not Sorter model metadata of version {VERSION}.")
    skip = ("weights_file", "weights_sha256", "format", "version")
    meta = ModelMeta.from_dict({k: v for k, v in raw.items() if k not in skip}, path)
    weights = _json_weights_path(path, str(raw["weights_file"]))
    expected = raw.get("weights_sha256")
    if expected and file_sha256(weights).lower() != str(expected).lower():
        raise ModelFileError(
            f"{weights} is not the expected file (sha256 differs from {path}); reinstall Sorter "
            "or restore the file."
        )
    state_dict = safe_torch_load(weights)
    if not _looks_like_state_dict(state_dict):
        raise ModelFileError(f"{weights} holds no network weights.")
    bad = nonfinite_tensors(state_dict)  # its sha256 (of the file) was checked above
    if bad:
        raise ModelFileError(f"{weights} holds NaN or infinite weights ({names_of(bad)}).")
    return meta, state_dict


def _group_matrix(meta: ModelMeta) -> torch.Tensor:
    matrix = torch.zeros(meta.n_outputs, len(meta.categories))
    for col, name in enumerate(meta.categories):
        matrix[(meta.groups or {})[name], col] = 1.0
    return matrix


@dataclass
class LoadedModel:
    """A network ready to score preprocessed batches, with the metadata it came with."""

    path: Path
    meta: ModelMeta
    network: torch.nn.Module
    device: torch.device
    _groups: torch.Tensor | None = field(default=None, init=False, repr=False)
    _mean: torch.Tensor | None = field(default=None, init=False, repr=False)
    _std: torch.Tensor | None = field(default=None, init=False, repr=False)
    _scoring: tuple[torch.nn.Module, torch.nn.Module] | None = field(
        default=None, init=False, repr=False
    )
    _scoring_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.meta.activation == "softmax-groups":
            self._groups = _group_matrix(self.meta).to(self.device)
        norm = self.meta.normalize
        if norm:
            self._mean = torch.tensor(norm.mean, device=self.device).view(1, 3, 1, 1)
            self._std = torch.tensor(norm.std, device=self.device).view(1, 3, 1, 1)

    @property
    def categories(self) -> list[str]:
        return list(self.meta.categories)

    @property
    def default_threshold(self) -> float:
        return self.meta.default_threshold

    @property
    def thresholds(self) -> dict[str, float]:
        return self.meta.category_thresholds()

    @property
    def empty_category(self) -> str | None:
        return self.meta.empty_category

    @property
    def exclusive(self) -> bool:
        """A single-label model: sorting puts an image in at most one category (decide)."""
        return self.meta.exclusive

    @property
    def max_labels(self) -> int | None:
        """A multi-label model's most folders per image (decide); None: no limit."""
        return self.meta.max_labels

    @property
    def scoring_network(self) -> torch.nn.Module:
        """The network `scores` runs: a channels_last copy with its BatchNorms folded in.

        Made once per `network` (again if `network` is replaced); `network` itself stays as
        trained, for anything that compares against or trains from it.
        """
        with self._scoring_lock:
            if self._scoring is None or self._scoring[0] is not self.network:
                scoring = fold_batchnorm(self.network).to(memory_format=torch.channels_last)
                self._scoring = (self.network, scoring)
            return self._scoring[1]

    def normalize_uint8(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 NCHW (0-255) on any device -> the float batch the network expects."""
        x = batch.to(self.device, non_blocking=True).float().div_(255.0)
        if self._mean is not None:
            x = (x - self._mean) / self._std
        return x

    def scores(self, batch: torch.Tensor) -> torch.Tensor:
        """Preprocessed float NCHW batch (or raw uint8 NCHW) -> (N, C) scores in [0, 1], on CPU."""
        cuda = self.device.type == "cuda"
        with torch.inference_mode():
            if batch.dtype == torch.uint8:
                batch = self.normalize_uint8(batch)
            x = batch.to(self.device, non_blocking=True)
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", torch.float16, enabled=cuda):
                logits = self.scoring_network(x).float()
            if self._groups is None:
                out = torch.sigmoid(logits)
            else:
                out = torch.softmax(logits, dim=1) @ self._groups
            return out.clamp_(0.0, 1.0).cpu()


def read_any_model(path: str | os.PathLike[str]) -> tuple[ModelMeta, dict[str, torch.Tensor]]:
    """(meta, state_dict) of a Sorter .pth file or a JSON model, checked as load_model checks
    them, without building the network.

    Raises:
        ModelFileError: as read_model_file and read_json_model.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        return read_json_model(path)
    return read_model_file(path)


def load_model(path: str | os.PathLike[str] | None = None, device: str = "auto") -> LoadedModel:
    """Load a sorter .pth (or JSON meta + weights) onto a device; None: the current model.

    Raises:
        ModelFileError: the file is missing, unsafe, damaged or does not fit its network.
        SorterError: the device cannot be used.
    """
    path = Path(path) if path is not None else current_model_path()
    torch_device = pick_device(device)
    meta, state_dict = read_any_model(path)
    network = build_network(meta)
    what = f"a {meta.builder} {meta.arch} with {meta.n_outputs} outputs"
    load_weights(network, state_dict, path, what)
    network.eval().to(torch_device)
    label = device_label(torch_device)
    log.info("Using %s", label)
    log.info("Loaded model %s (%s %s)", path, meta.builder, meta.arch)
    model = LoadedModel(path=path, meta=meta, network=network, device=torch_device)
    model.scoring_network  # noqa: B018 - fold now, so "model ready" means ready to score
    return model
