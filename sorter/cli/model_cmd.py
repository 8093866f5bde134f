"""`sorter info [MODEL]` and `sorter import-weights FILE`: look inside and make model files."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sorter.core.model.arch_names import SINGLE_ARCHS

if TYPE_CHECKING:
    from sorter.core.model.meta import ModelMeta

log = logging.getLogger(__name__)

_ACTIVATION_WORDS = {
    "sigmoid": "sigmoid (multi-label: each category scored on its own)",
    "softmax-groups": "softmax-groups (a category's score = sum of its classes' probabilities)",
    "softmax": "softmax (single-label: one output per category, the scores sum to 1)",
}
_DECISION_WORDS = {
    True: "single-label: one folder per image, its best category if that passes its "
    "threshold, else uncertain",
    False: "multi-label: every category that passes its threshold (an image may go to several "
    "folders)",
}
IMAGENET_CLASSES = 1000  # a network with this many outputs is an ImageNet classifier


def register(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser("info", help="show what a model file contains")
    info.add_argument("model", nargs="?", type=Path, help="model file (default: the current one)")
    info.add_argument("--json", action="store_true", help="print the metadata as JSON")
    info.set_defaults(func=run_info)

    imp = sub.add_parser(
        "import-weights",
        help="turn bare fastai weights (learn.save / state_dict) into a Sorter model",
    )
    imp.add_argument("file", type=Path, help="weights saved with learn.save or torch.save")
    imp.add_argument("--arch", required=True, choices=SINGLE_ARCHS)
    imp.add_argument(
        "--categories", required=True, help="comma-separated category names in output order"
    )
    imp.add_argument("--out", type=Path, help="model file to write (default: FILE.sorter.pth)")
    imp.add_argument("--resize-method", choices=("crop", "squish", "pad"), default="crop")
    imp.add_argument("--size", type=int, default=224, help="input size in pixels (square)")
    imp.add_argument(
        "--no-normalize", action="store_true", help="the model was trained without ImageNet stats"
    )
    imp.set_defaults(func=run_import)


def _read_meta(path: Path) -> ModelMeta:
    from sorter.core.model.modelfile import read_json_model, read_model_file

    if path.suffix.lower() == ".json":
        return read_json_model(path)[0]
    return read_model_file(path)[0]


def _preprocessing_line(meta: ModelMeta) -> str:
    norm = meta.normalize
    stats = f"mean {list(norm.mean)}, std {list(norm.std)}" if norm else "none"
    size = meta.input_size
    return f"{size}x{size} px, resize {meta.resize_method}, normalisation {stats}"


def _cap_words(meta: ModelMeta) -> str:
    cap = meta.max_labels
    if cap is None or meta.exclusive:
        return ""
    return f"; at most {cap} folder{'s' if cap != 1 else ''} per image, the highest scores"


def describe(path: Path, meta: ModelMeta, stored: dict[str, Any] | None = None) -> list[str]:
    """Readable lines about a model's metadata (and, given `stored`, about its file)."""
    from sorter.core.learning.manage import size_text
    from sorter.core.training.report import estimate_lines

    lines = [f"Model:        {path}"]
    if stored is not None:
        size, shared = size_text(stored["bytes"]), stored["shared_files"]
        lines.append(
            f"Stored:       compact, {size} (the networks' ImageNet weights are Sorter's own "
            f"{', '.join(shared)})"
            if shared
            else f"Stored:       whole, {size} (every weight in the file)"
        )
    lines += [
        f"Network:      {meta.arch} ({meta.builder}), {meta.n_outputs} outputs",
        f"Scores:       {_ACTIVATION_WORDS.get(_scoring(meta), meta.activation)}",
        f"Decision:     {_DECISION_WORDS[meta.exclusive]}{_cap_words(meta)}",
        f"Input:        {_preprocessing_line(meta)}",
        f"Threshold:    {meta.default_threshold} by default",
        f"Categories:   {len(meta.categories)}",
    ]
    for name, threshold in meta.category_thresholds().items():
        lines.append(f"  - {name}: threshold {threshold}{_group_note(meta, name)}")
    if meta.empty_category:
        lines.append(f"Empty class:  {meta.empty_category} (dropped when another passes)")
    lines += estimate_lines(meta.training)
    lines += _training_lines(meta.training)
    if meta.created_by:
        lines.append(f"Created by:   {meta.created_by}")
    return lines


def _one_output_each(meta: ModelMeta) -> bool:
    """Softmax groups of one output per category: a plain single-label classifier."""
    groups = meta.groups or {}
    return meta.n_outputs == len(meta.categories) and all(len(g) == 1 for g in groups.values())


def _scoring(meta: ModelMeta) -> str:
    if meta.activation == "softmax-groups" and _one_output_each(meta):
        return "softmax"
    return meta.activation


def _group_note(meta: ModelMeta, name: str) -> str:
    """' (59 ImageNet classes)' for a category grouping a classifier's outputs; else ''."""
    if not meta.groups or _one_output_each(meta):
        return ""
    count = len(meta.groups[name])
    if meta.n_outputs == IMAGENET_CLASSES:
        return f" ({count} ImageNet {'class' if count == 1 else 'classes'})"
    return f" ({count} network {'output' if count == 1 else 'outputs'})"


def _training_lines(training: dict[str, Any]) -> list[str]:
    if not training:
        return ["Training:     (no summary)"]
    lines = ["Training:"]
    for key, value in training.items():
        if key == "cross_validation":  # its figures are the "Expected on new photos" lines
            value = {"folds": value.get("folds"), "l2": value.get("l2")}
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        lines.append(f"  {key}: {value}")
    return lines


def run_info(args: argparse.Namespace) -> int:
    from sorter.core.model.modelfile import current_model_path

    path = args.model if args.model is not None else current_model_path()
    meta = _read_meta(path)
    stored = _stored(path)
    if args.json:
        info = {"path": str(path), "meta": meta.to_dict(), **({"stored": stored} if stored else {})}
        print(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        print("\n".join(describe(path, meta, stored)))
    return 0


def _stored(path: Path) -> dict[str, object] | None:
    """How a .pth file holds its weights: its size, and the shipped files a compact one names."""
    from sorter.core.model.modelfile import shared_files

    if path.suffix.lower() == ".json":
        return None
    return {"bytes": path.stat().st_size, "shared_files": shared_files(path)}


def run_import(args: argparse.Namespace) -> int:
    from sorter.core.model.weights_import import import_weights

    categories = [c.strip() for c in args.categories.split(",") if c.strip()]
    out = import_weights(
        args.file,
        args.arch,
        categories,
        args.out,
        resize_method=args.resize_method,
        size=args.size,
        normalize=not args.no_normalize,
    )
    print(f"Wrote {out} ({args.arch}, {len(categories)} categories: {', '.join(categories)}).")
    print(f"Use it with: sorter sort FOLDER --model {out}")
    return 0
