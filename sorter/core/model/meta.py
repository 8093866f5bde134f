"""A model's metadata as one typed, checked value: made, read, validated and written only here."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sorter.core.errors import ModelFileError

ACTIVATIONS = ("sigmoid", "softmax-groups")
RESIZE_METHODS = ("crop", "squish", "pad")
PAD_MODES = ("reflection", "zeros", "border")  # optional "pad_mode", fastai's PadMode names
REQUIRED_META = (
    "arch",
    "builder",
    "categories",
    "activation",
    "n_outputs",
    "default_threshold",
    "thresholds",
    "input_size",
    "resize_method",
    "normalize",
)
# Keys with a field of their own; any other key of a file's metadata is kept in ModelMeta.extra.
OPTIONAL_META = (
    "groups",
    "max_labels",
    "pad_mode",
    "empty_category",
    "training",
    "created_by",
    "backbone_sha256",
    "state_dict_sha256",
)


@dataclass(frozen=True)
class Stats:
    """Per-channel (red, green, blue) mean and standard deviation of a Normalize step."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}


IMAGENET = Stats(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


@dataclass(frozen=True)
class Preprocessing:
    """What turns an image into the network's input: square size, resize, normalisation."""

    input_size: int
    resize_method: str = "crop"
    normalize: Stats | None = None
    pad_mode: str | None = None  # for "pad": fastai's PadMode; None means reflection

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input_size": self.input_size,
            "resize_method": self.resize_method,
            "normalize": self.normalize.to_dict() if self.normalize else None,
        }
        if self.pad_mode is not None:
            out["pad_mode"] = self.pad_mode
        return out


@dataclass(frozen=True)
class ModelMeta:
    """Everything a model file says about its network besides the weights.

    Construction checks the whole value (ModelFileError when it contradicts itself), so a
    ModelMeta in hand is always usable. On disk it is `to_dict()`: the same plain dict as the
    files written before this class, so older Sorters still read new files and the other way round.
    """

    arch: str
    builder: str  # "fastai": body + fastai's head; "torchvision": the plain classifier
    categories: list[str]  # output order
    activation: str  # "sigmoid" (multi-label) | "softmax-groups" (single-label: see exclusive)
    n_outputs: int  # logits of the network
    preprocessing: Preprocessing  # on disk: input_size, resize_method, normalize, pad_mode
    default_threshold: float = 0.5
    thresholds: dict[str, float] = field(default_factory=dict)
    groups: dict[str, list[int]] | None = None  # softmax-groups: category -> class indices
    empty_category: str | None = None  # a learned "nothing here" class
    training: dict[str, Any] = field(default_factory=dict)  # summary: date, metrics, data_path...
    created_by: str | None = None
    backbone_sha256: str | None = None  # the pretrained weights file training started from
    state_dict_sha256: str | None = None  # weights_checksum() of the weights saved beside it
    # A multi-label model: at most this many folders per image, the most labels any training
    # image had (None: no limit, as in files written before it existed).
    max_labels: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys this Sorter does not know, kept

    def __post_init__(self) -> None:
        problem = _meta_problem(self.to_dict())
        if problem:
            raise ModelFileError(f"Not a usable Sorter model ({problem}).")

    @property
    def input_size(self) -> int:
        return self.preprocessing.input_size

    @property
    def resize_method(self) -> str:
        return self.preprocessing.resize_method

    @property
    def normalize(self) -> Stats | None:
        return self.preprocessing.normalize

    @property
    def pad_mode(self) -> str | None:
        return self.preprocessing.pad_mode

    @property
    def exclusive(self) -> bool:
        """True for a single-label model: an image goes to at most one category.

        A "softmax-groups" model scores an image as one class among all its outputs, so when no
        output belongs to two categories the categories exclude one another (Sorter's trained
        single-label models have one output per category; the default model groups ImageNet's
        classes). A "sigmoid" model scores each category on its own: multi-label.
        """
        if self.activation != "softmax-groups" or self.groups is None:
            return False
        outputs = [i for indices in self.groups.values() for i in indices]
        return len(outputs) == len(set(outputs))

    def category_thresholds(self) -> dict[str, float]:
        """The threshold of every category: its own, else the default."""
        return {c: float(self.thresholds.get(c, self.default_threshold)) for c in self.categories}

    def replace(self, **changes: Any) -> ModelMeta:
        """A copy with `changes` (checked again, as every ModelMeta)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The plain dict stored in model files (format "sorter-model" version 1)."""
        out: dict[str, Any] = {
            **self.extra,
            "arch": self.arch,
            "builder": self.builder,
            "categories": list(self.categories),
            "activation": self.activation,
            "n_outputs": self.n_outputs,
            "default_threshold": self.default_threshold,
            "thresholds": dict(self.thresholds),
            **self.preprocessing.to_dict(),
            "empty_category": self.empty_category,
            "training": self.training,
        }
        if self.groups is not None:
            out["groups"] = {name: list(ids) for name, ids in self.groups.items()}
        optional = ("created_by", "backbone_sha256", "state_dict_sha256", "max_labels")
        out.update({k: getattr(self, k) for k in optional if getattr(self, k) is not None})
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], path: Path | None = None) -> ModelMeta:
        """The metadata stored in a model file (or the default model's JSON).

        Raises:
            ModelFileError: a key is missing or a value is wrong; the message names `path`.
        """
        where = f"{path}: " if path else ""
        if not isinstance(raw, Mapping):
            raise ModelFileError(f"{where}not a usable Sorter model (metadata is not a mapping).")
        problem = _meta_problem(raw)
        if problem:
            raise ModelFileError(f"{where}not a usable Sorter model ({problem}).")
        return cls._from_checked(raw)

    @classmethod
    def _from_checked(cls, raw: Mapping[str, Any]) -> ModelMeta:
        norm = raw["normalize"]
        stats = Stats(_three(norm["mean"]), _three(norm["std"])) if norm else None
        groups = raw.get("groups")
        return cls(
            arch=raw["arch"],
            builder=raw["builder"],
            categories=list(raw["categories"]),
            activation=raw["activation"],
            n_outputs=raw["n_outputs"],
            preprocessing=Preprocessing(
                raw["input_size"], raw["resize_method"], stats, raw.get("pad_mode")
            ),
            default_threshold=float(raw["default_threshold"]),
            thresholds={k: float(v) for k, v in raw["thresholds"].items()},
            groups={k: list(v) for k, v in groups.items()} if groups is not None else None,
            empty_category=raw.get("empty_category"),
            training=dict(raw.get("training") or {}),
            created_by=raw.get("created_by"),
            backbone_sha256=raw.get("backbone_sha256"),
            state_dict_sha256=raw.get("state_dict_sha256"),
            max_labels=raw.get("max_labels"),
            extra={k: v for k, v in raw.items() if k not in (*REQUIRED_META, *OPTIONAL_META)},
        )


def sigmoid_meta(
    arch: str,
    categories: Sequence[str],
    preprocessing: Preprocessing,
    *,
    default_threshold: float = 0.5,
    thresholds: Mapping[str, float] | None = None,
    **more: Any,
) -> ModelMeta:
    """The metadata of a multi-label fastai model (what Sorter trains): one sigmoid per category.

    `more` sets the other fields (training, created_by, backbone_sha256, empty_category...).
    """
    return _fastai_meta(
        arch, categories, preprocessing, default_threshold, thresholds, activation="sigmoid", **more
    )


def single_label_meta(
    arch: str,
    categories: Sequence[str],
    preprocessing: Preprocessing,
    *,
    default_threshold: float = 0.5,
    thresholds: Mapping[str, float] | None = None,
    **more: Any,
) -> ModelMeta:
    """The metadata of a single-label fastai model: a softmax over one output per category.

    Written as "softmax-groups" with a group of one output per category (as import_learner
    writes a CrossEntropy learner), so Sorters that predate `exclusive` score it right too.
    """
    groups = {name: [i] for i, name in enumerate(categories)}
    return _fastai_meta(
        arch, categories, preprocessing, default_threshold, thresholds,
        activation="softmax-groups", groups=groups, **more,
    )  # fmt: skip


def _fastai_meta(
    arch: str,
    categories: Sequence[str],
    preprocessing: Preprocessing,
    default_threshold: float,
    thresholds: Mapping[str, float] | None,
    **fields: Any,
) -> ModelMeta:
    """A fastai-built model with one output per category; `fields` give activation and more."""
    return ModelMeta(
        arch=arch,
        builder="fastai",
        categories=list(categories),
        n_outputs=len(categories),
        preprocessing=preprocessing,
        default_threshold=float(default_threshold),
        thresholds=dict(thresholds or {}),
        **fields,
    )


def trained_meta(
    arch: str,
    categories: Sequence[str],
    preprocessing: Preprocessing,
    *,
    exclusive: bool,
    **more: Any,
) -> ModelMeta:
    """single_label_meta when `exclusive`, else sigmoid_meta (what Sorter trains either way)."""
    make = single_label_meta if exclusive else sigmoid_meta
    return make(arch, categories, preprocessing, **more)


def _three(values: Sequence[float]) -> tuple[float, float, float]:
    red, green, blue = (float(v) for v in values)
    return red, green, blue


def _meta_problem(meta: Mapping[str, Any]) -> str | None:
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        return f"metadata lacks {', '.join(missing)}"
    cats = meta["categories"]
    if not isinstance(cats, list) or not cats or not all(isinstance(c, str) for c in cats):
        return "categories must be a non-empty list of names"
    if len(set(cats)) != len(cats):
        return "category names repeat"
    if meta["activation"] not in ACTIVATIONS:
        return f"unknown activation {meta['activation']!r}"
    if meta["resize_method"] not in RESIZE_METHODS:
        return f"unknown resize method {meta['resize_method']!r}"
    other = _values_problem(meta) or _text_problem(meta)
    if other:
        return other
    if meta["activation"] == "sigmoid" and meta["n_outputs"] != len(cats):
        return f"{meta['n_outputs']} outputs for {len(cats)} categories"
    if meta["activation"] == "softmax-groups":
        return _groups_problem(meta)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _stats_ok(norm: Any) -> bool:
    def three_numbers(value: Any) -> bool:
        return isinstance(value, list | tuple) and len(value) == 3 and all(map(_is_number, value))

    return (
        isinstance(norm, dict)
        and three_numbers(norm.get("mean"))
        and three_numbers(norm.get("std"))
    )


def _values_problem(meta: Mapping[str, Any]) -> str | None:
    size, norm = meta["input_size"], meta["normalize"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 8:
        return f"input_size must be a whole number of pixels, not {size!r}"
    if not isinstance(meta["n_outputs"], int) or meta["n_outputs"] < 1:
        return f"n_outputs must be a positive whole number, not {meta['n_outputs']!r}"
    if norm is not None and not _stats_ok(norm):
        return "normalize must be null or {mean: [3 numbers], std: [3 numbers]}"
    thresholds = meta["thresholds"]
    values = [
        meta["default_threshold"],
        *(thresholds.values() if isinstance(thresholds, dict) else [None]),
    ]
    if not all(_is_number(v) and 0 <= v <= 1 for v in values):
        return "thresholds must be numbers between 0 and 1"
    if meta.get("pad_mode") not in (None, *PAD_MODES):
        return f"unknown pad_mode {meta['pad_mode']!r} (reflection, zeros or border)"
    empty = meta.get("empty_category")
    if empty is not None and empty not in meta["categories"]:
        return f"empty_category {empty!r} is not one of the categories"
    cap = meta.get("max_labels")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        return f"max_labels must be a positive whole number, not {cap!r}"
    return None


def _text_problem(meta: Mapping[str, Any]) -> str | None:
    for key in ("arch", "builder"):
        if not isinstance(meta[key], str):
            return f"{key} must be a name, not {meta[key]!r}"
    for key in ("created_by", "backbone_sha256", "state_dict_sha256"):
        if not isinstance(meta.get(key, ""), str | None):
            return f"{key} must be text, not {meta[key]!r}"
    if not isinstance(meta.get("training") or {}, dict):
        return "training must be a mapping of summary values"
    return None


def _groups_problem(meta: Mapping[str, Any]) -> str | None:
    groups = meta.get("groups")
    if not isinstance(groups, dict) or set(groups) != set(meta["categories"]):
        return "softmax-groups needs groups with one list of class indices per category"
    n = int(meta["n_outputs"])
    for name, indices in groups.items():
        if not indices or not all(isinstance(i, int) and 0 <= i < n for i in indices):
            return f"group {name!r} needs class indices between 0 and {n - 1}"
    return None
