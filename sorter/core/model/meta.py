"""What a model's metadata must hold, and checks that it is complete and consistent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sorter.core.errors import ModelFileError

ACTIVATIONS = ("sigmoid", "softmax-groups")
RESIZE_METHODS = ("crop", "squish", "pad")
PAD_MODES = ("reflection", "zeros", "border")  # optional meta["pad_mode"], fastai's PadMode names
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
IMAGENET_STATS = {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def _meta_problem(meta: dict[str, Any]) -> str | None:
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
    other = _values_problem(meta)
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
        return isinstance(value, list) and len(value) == 3 and all(map(_is_number, value))

    return (
        isinstance(norm, dict)
        and three_numbers(norm.get("mean"))
        and three_numbers(norm.get("std"))
    )


def _values_problem(meta: dict[str, Any]) -> str | None:
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
    return None


def _groups_problem(meta: dict[str, Any]) -> str | None:
    groups = meta.get("groups")
    if not isinstance(groups, dict) or set(groups) != set(meta["categories"]):
        return "softmax-groups needs groups with one list of class indices per category"
    n = int(meta["n_outputs"])
    for name, indices in groups.items():
        if not indices or not all(isinstance(i, int) and 0 <= i < n for i in indices):
            return f"group {name!r} needs class indices between 0 and {n - 1}"
    return None


def check_meta(meta: dict[str, Any], path: Path | None = None) -> None:
    """Raise ModelFileError when meta lacks a required key or contradicts itself."""
    problem = _meta_problem(meta)
    if problem:
        where = f"{path}: " if path else ""
        raise ModelFileError(f"{where}not a usable Sorter model ({problem}).")
