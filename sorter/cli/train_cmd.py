"""`sorter train` (teach Sorter categories from examples) and `sorter import-learner`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sorter.cli.console import ProgressBar, add_device_option, device_of, format_duration
from sorter.core.jobs import Cancelled
from sorter.core.model.arch_names import ARCHS, DEFAULT_ARCH

if TYPE_CHECKING:
    from sorter.core.training.options import TrainOptions
    from sorter.core.training.train import TrainResult

log = logging.getLogger(__name__)

MAX_LISTED = 20
EXIT_CANCELLED = 130


def register(sub: argparse._SubParsersAction) -> None:
    _register_train(sub)
    _register_import(sub)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("must be at least 0 and below 1, e.g. 0.2")
    return value


def _register_train(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "train",
        help="train a model from example images",
        description="Train a model from example images: DATA is a folder with one sub-folder "
        "of images per category, or a CSV file of 'file,labels' rows (labels separated by "
        "spaces; several labels per image allowed) with --images naming the image folder. "
        "When every image has exactly one label the model is single-label (each image goes to "
        "one folder, or to uncertain); otherwise it is multi-label (each image goes to every "
        "category that passes its threshold).",
    )
    parser.add_argument("data", type=Path, metavar="DATA", help="category folders, or a CSV")
    parser.add_argument("--images", type=Path, metavar="DIR", help="image folder of a CSV")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, metavar="MODEL.pth", help="model file to write")
    where.add_argument(
        "--as-version",
        action="store_true",
        help="store the model as the next version in Sorter's models folder (as the window's "
        "New model does) instead of a file; `sorter models use vN` makes it current",
    )
    parser.add_argument(
        "--name",
        metavar="NAME",
        default="",
        help="with --as-version: a name of your own for the version, e.g. 'Shop furniture'",
    )
    parser.add_argument(
        "--mode",
        choices=("quick", "full"),
        default="quick",
        help="quick: train only the last layers (seconds); full: fine-tune everything (slow)",
    )
    parser.add_argument(
        "--epochs", type=_positive, metavar="N",
        help="full mode: default 4 (quick mode's probe solves to convergence and needs none)",
    )  # fmt: skip
    parser.add_argument(
        "--arch", choices=ARCHS, default=DEFAULT_ARCH,
        help=f"the pretrained network(s) (default {DEFAULT_ARCH}: both side by side, the most "
        "accurate on a few photos per category; mobilenet_v2 alone sorts about twice as fast "
        "on a CPU)",
    )  # fmt: skip
    parser.add_argument(
        "--valid-pct", type=_share, default=0.2, metavar="SHARE",
        help="full mode's hold-out (quick mode cross-validates every image instead)",
    )  # fmt: skip
    parser.add_argument(
        "--group",
        metavar="REGEX",
        help="keep images whose paths share this regex's first group (e.g. one object's "
        r"photos, '(item\d+)_') on the same side of the validation split",
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--single-label",
        dest="labels",
        action="store_const",
        const="single",
        help="train a single-label model whatever the data: one folder per image at most",
    )
    kind.add_argument(
        "--multi-label",
        dest="labels",
        action="store_const",
        const="multi",
        help="train a multi-label model whatever the data: an image may go to several folders",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--input-size", type=_positive, default=224, metavar="PX")
    add_device_option(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run_train)


def _register_import(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import-learner",
        help="turn a fastai learn.export() file into a Sorter model",
        description="Read a fastai Learner saved with learn.export() and write a Sorter model "
        "file. Unpickling a Learner runs code stored in the file, so Sorter only does it "
        "with --trust, for files you made yourself or fully trust.",
    )
    parser.add_argument("export", type=Path, metavar="EXPORT.pkl")
    parser.add_argument("--trust", action="store_true", help="I trust this file to run code")
    parser.add_argument("--out", type=Path, metavar="MODEL.pth", help="model file to write")
    parser.set_defaults(func=run_import)


def default_out(name: str, folder: Path | None = None) -> Path:
    """`<name>.pth` in `folder` (default: the current folder), numbered when taken."""
    from sorter.core.sorting.names import numbered_name, safe_file_name

    folder = folder or Path.cwd()
    base = safe_file_name(f"{name or 'model'}.pth")
    n = 1
    while (folder / numbered_name(base, n)).exists():
        n += 1
    return folder / numbered_name(base, n)


def _options(args: argparse.Namespace) -> TrainOptions:
    from sorter.core.training.train import TrainOptions

    return TrainOptions(
        mode=args.mode,
        arch=args.arch,
        epochs=args.epochs,
        valid_pct=args.valid_pct,
        seed=args.seed,
        group=args.group,
        input_size=args.input_size,
        device=device_of(args),
        labels=args.labels,
    )


def run_train(args: argparse.Namespace) -> int:
    from sorter.core.training.data import load_training_data
    from sorter.core.training.train import train

    if args.name and not args.as_version:
        print("sorter: --name names a stored version: add --as-version.", file=sys.stderr)
        return 2
    data = load_training_data(args.data, args.images)
    bar = ProgressBar()
    version = None
    try:
        if args.as_version:
            from sorter.core.learning.manage import train_version

            result, version = train_version(data, _options(args), title=args.name, progress=bar)
        else:
            name = args.data.stem if args.data.is_file() else args.data.name
            result = train(data, args.out or default_out(name), _options(args), progress=bar)
    except (KeyboardInterrupt, Cancelled):
        bar.close()
        print("\nTraining stopped; no model was saved.", file=sys.stderr)
        return EXIT_CANCELLED
    bar.close()
    if args.json:
        extra = {"version": version.name, "title": version.title} if version else {}
        print(json.dumps({**_result_dict(result), **extra}, indent=2, ensure_ascii=False))
    else:
        _print_result(result, version)
    return 0


def _result_dict(result: TrainResult) -> dict[str, Any]:
    return {
        "model": str(result.model_path),
        "report": str(result.report_json),
        "plot": str(result.report_png) if result.report_png else None,
        "seconds": round(result.seconds, 1),
        "notes": result.notes,
        "training": result.meta.training,
        "thresholds": result.meta.thresholds,
        "warnings": result.warnings,
        "skipped": result.report["skipped"],
    }


def _print_result(result: TrainResult, version: Any = None) -> None:
    from sorter.core.training.report import estimate_lines

    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)
    skipped = result.data.skipped
    if skipped:
        print(f"{len(skipped)} image(s) left out:", file=sys.stderr)
        for path, reason in skipped[:MAX_LISTED]:
            print(f"  {path}: {reason}", file=sys.stderr)
        if len(skipped) > MAX_LISTED:
            print(f"  ... and {len(skipped) - MAX_LISTED} more (see the report)", file=sys.stderr)
    training = result.meta.training
    if not training["pretrained"]:
        print(f"note: {training['arch']} was trained from scratch (no pretrained weights).")
    for note in result.notes:
        print(f"note: {note}")
    if training.get("cross_validation"):
        print(
            f"Trained {training['mode']} {training['arch']} on all {training['train_images']} "
            f"images in {format_duration(result.seconds)}; {training['validation']}."
        )
    else:
        print(
            f"Trained {training['mode']} {training['arch']} on {training['train_images']} "
            f"images, validated on {training['valid_images']}, in "
            f"{format_duration(result.seconds)}."
        )
    print(_category_table(result))
    metrics = training["metrics"]
    if metrics:
        pooled = "All images, out of fold" if training.get("cross_validation") else "Validation"
        print(_validation_line(metrics, pooled))
    for line in estimate_lines(training):
        print(line)
    if version is not None:
        from sorter.cli.versions_cmd import quoted_name

        print(f"Model:  version {quoted_name(version)}, {result.model_path}")
    else:
        print(f"Model:  {result.model_path}")
    print(f"Report: {result.report_json}")
    print(f'Use it: sorter sort FOLDER --model "{result.model_path}"')
    use = version.name if version is not None else f'"{result.model_path}"'
    print(
        f"   or make it the current model (the window, `sorter sort` without --model and "
        f"`sorter retrain` use it): sorter models use {use}"
    )


def _validation_line(metrics: dict[str, Any], label: str = "Validation") -> str:
    top1 = metrics["top1_accuracy"]
    top1_text = f", best-category accuracy {top1:.1%}" if top1 is not None else ""
    if metrics.get("labels") == "single":
        precision = metrics.get("placed_precision")
        precise = f"; {precision:.1%} of the images placed are right" if precision else ""
        return (
            f"{label}: {metrics['exact_match']:.1%} of images in exactly their own folder"
            f"{top1_text}{precise}; {metrics['uncertain']} would go to uncertain."
        )
    return (
        f"{label}: all categories right on {metrics['exact_match']:.1%} of images"
        f"{top1_text}; {metrics['uncertain']} would go to uncertain."
    )


def _category_table(result: TrainResult) -> str:
    counts = result.meta.training["image_counts"]
    details = (result.report["evaluation"] or {}).get("categories", {})
    width = max(len(name) for name in counts)
    lines = [f"  {'category':<{width}}  images  threshold  precision  recall"]
    for name, count in counts.items():
        threshold = result.meta.thresholds[name]
        row = details.get(name)
        scores = f"{row['precision']:9.2f}  {row['recall']:6.2f}" if row else ""
        lines.append(f"  {name:<{width}}  {count:6d}  {threshold:9.2f}  {scores}")
    return "\n".join(lines)


def run_import(args: argparse.Namespace) -> int:
    from sorter.core.model.import_learner import import_learner

    if not args.trust:
        print(
            "sorter: not importing. A fastai export file is a Python pickle: opening it runs "
            "code stored in the file, which can do anything your account can. If you made "
            "this file yourself or fully trust where it came from, run again with --trust.",
            file=sys.stderr,
        )
        return 2
    out = args.out or default_out(args.export.stem, args.export.resolve().parent)
    meta = import_learner(args.export, out)
    print(f"Imported {meta.arch} with {len(meta.categories)} categories: ", end="")
    print(", ".join(meta.categories))
    norm = "ImageNet statistics" if meta.normalize else "no normalisation"
    print(f"Input {meta.input_size} px ({meta.resize_method}), {norm}.")
    print(f"Model: {out.resolve()}")
    return 0
