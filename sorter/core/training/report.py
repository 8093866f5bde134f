"""The training report: validation metrics, thresholds and top losses as JSON, and a PNG plot."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from sorter.core.training import metrics as th

log = logging.getLogger(__name__)


def report_paths(model_path: Path) -> tuple[Path, Path]:
    """MODEL.report.json and MODEL.report.png beside the model file."""
    model_path = Path(model_path)
    stem = model_path.with_suffix("")
    return stem.with_name(stem.name + ".report.json"), stem.with_name(stem.name + ".report.png")


def evaluate(
    scores: np.ndarray,
    targets: np.ndarray,
    paths: Sequence[Path],
    categories: Sequence[str],
    default_threshold: float = 0.5,
    exclusive: bool = False,
    max_labels: int | None = None,
) -> dict:
    """Everything the report says about the validation set, thresholds included.

    `exclusive` (a single-label model): thresholds by metrics.exclusive_thresholds and every
    figure from its one-folder decisions; else by metrics.exact_set_thresholds, with at most
    `max_labels` folders an image as sorting will place them. With no validation images every
    category keeps `default_threshold` and metrics are None.
    """
    labels = "single" if exclusive else "multi"
    if len(scores) == 0:
        thresholds = {name: float(default_threshold) for name in categories}
        return {"valid_images": 0, "labels": labels, "thresholds": thresholds, "metrics": None}
    if exclusive:
        thresholds = th.exclusive_thresholds(scores, targets, categories, default_threshold)
    else:
        thresholds = th.exact_set_thresholds(
            scores, targets, categories, default_threshold, max_labels=max_labels
        )
    cap = {"max_labels": max_labels}
    judge = partial(th.decided_accuracy, scores, targets, categories, exclusive=exclusive, **cap)
    exact, uncertain = judge(thresholds)
    exact_default, _ = judge(dict.fromkeys(categories, default_threshold))
    default_decisions = th.decisions(scores, categories, {}, exclusive, default_threshold, **cap)
    placed = th.placement(scores, targets, categories, thresholds, exclusive, **cap)
    metrics = {
        "labels": labels,
        "valid_loss": float(np.mean(th.losses(scores, targets, exclusive))),
        # the share of (image, category) decisions that are right, at the default threshold
        "accuracy_multi": float(np.mean(default_decisions == (targets > 0.5))),
        "top1_accuracy": th.top1_accuracy(scores, targets),
        "exact_match": exact,
        "exact_match_default_threshold": exact_default,
        "uncertain": uncertain,
        **{k: v for k, v in placed.items() if k not in ("top1", "exact_folder")},
    }
    return {
        "valid_images": len(scores),
        "labels": labels,
        "thresholds": thresholds,
        "metrics": metrics,
        **_curve(scores, targets, categories, exclusive),
        "categories": th.category_metrics(
            scores, targets, categories, thresholds, exclusive, **cap
        ),
        "top_losses": th.top_losses(
            scores, targets, paths, categories, thresholds, exclusive=exclusive, **cap
        ),
    }


def _curve(
    scores: np.ndarray, targets: np.ndarray, categories: Sequence[str], exclusive: bool
) -> dict:
    """The plot's curve: accuracy_multi, or for a single-label model the share of images in
    exactly their own folder, against one threshold for every category."""
    if not exclusive:
        return {"accuracy_curve": th.accuracy_curve(scores, targets), "curve": "accuracy_multi"}
    curve = [
        (float(t), th.decided_accuracy(scores, targets, categories, {}, float(t), True)[0])
        for t in th.THRESHOLD_GRID
    ]
    return {"accuracy_curve": curve, "curve": "exact folder"}


def _clean(value):
    # JSON has no NaN; numpy scalars are not JSON either.
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_report_json(model_path: Path, report: dict) -> Path:
    """Write (or rewrite) MODEL.report.json, atomically; returns its path."""
    json_path = report_paths(model_path)[0]
    tmp = json_path.with_name(json_path.name + ".tmp")
    tmp.write_text(json.dumps(_clean(report), indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, json_path)
    return json_path


def write_report(model_path: Path, report: dict) -> tuple[Path, Path | None]:
    """Write MODEL.report.json (and the PNG when there was a validation set).

    Returns the two paths; the PNG path is None when nothing could be plotted.
    """
    json_path = write_report_json(model_path, report)
    png_path = report_paths(model_path)[1]
    evaluation = report.get("evaluation") or {}
    if not evaluation.get("valid_images"):
        return json_path, None
    try:
        plot_report(evaluation, png_path)
    except Exception:  # a missing plot must not lose a trained model
        log.exception("Could not draw the report plot %s", png_path)
        return json_path, None
    return json_path, png_path


def plot_report(evaluation: dict, png_path: Path) -> None:
    """The threshold curve (left) and F1 per category (right), Agg only."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    xs, ys = zip(*evaluation["accuracy_curve"], strict=True)
    left.plot(xs, ys, marker="o")
    left.set_xlabel("threshold")
    left.set_ylabel(f"{evaluation.get('curve', 'accuracy_multi')} (validation)")
    left.set_title(f"{evaluation['valid_images']} validation images")
    left.grid(alpha=0.3)
    names = list(evaluation["categories"])
    f1 = [evaluation["categories"][n]["f1"] for n in names]
    right.barh(range(len(names)), f1)
    right.set_yticks(range(len(names)), labels=[n[:24] for n in names])
    right.set_xlim(0, 1)
    right.set_xlabel("F1 at the chosen threshold")
    right.invert_yaxis()
    figure.tight_layout()
    figure.savefig(png_path)


# What each placement figure means, in the words the CLI and the window use.
_ESTIMATE_WORDS = (
    ("exact_folder", "images in exactly their own folder"),
    ("top1", "best category right"),
    ("placed_precision", "placed images that are right"),
    ("coverage", "images placed at all (the rest go to uncertain)"),
)


def estimate_rows(training: dict) -> tuple[str, list[tuple[str, str]]]:
    """The cross-validated figures of a trained model: a heading saying how they were measured,
    and (figure "70% ± 5%", what it counts) rows; ("", []) when it has none."""
    cv = training.get("cross_validation") or {}
    spread = cv.get("spread") or {}
    if not spread:
        return "", []
    images = training.get("images", training.get("valid_images"))
    heading = (
        f"Expected on new photos ({cv['folds']}-fold cross-validation on the {images} example "
        "images; mean ± spread over the folds):"
    )
    rows = [
        (f"{spread[key]['mean']:.0%} ± {spread[key]['sd']:.0%}", words)
        for key, words in _ESTIMATE_WORDS
        if spread.get(key)
    ]
    return heading, rows


def estimate_lines(training: dict) -> list[str]:
    """How well a trained model should sort, as its training measured it: the cross-validated
    figures with their spread over the folds; [] when it has none."""
    heading, rows = estimate_rows(training)
    if not heading:
        return []
    return [heading, *(f"  {figure}  {words}" for figure, words in rows)]


def about_lines(meta: Any) -> list[str]:
    """What the window says about a model (a ModelMeta): how it decides, its categories, and
    how well it should sort, with its training's warnings."""
    if meta.exclusive:
        kind = ("Single-label: each photo goes to its best category when that category's score "
                "reaches its threshold, else to uncertain.")  # fmt: skip
    else:
        kind = ("Multi-label: each photo goes to every category whose score reaches its "
                "threshold, or to uncertain when none does.")  # fmt: skip
        cap = getattr(meta, "max_labels", None)
        if cap is not None:
            kind += (f" At most {cap} folders per photo (its highest scores): no example photo "
                     f"had more than {cap} labels.")  # fmt: skip
    lines = [kind, f"{len(meta.categories)} categories: {', '.join(meta.categories)}.", ""]
    training = meta.training or {}
    estimates = estimate_lines(training)
    if not estimates:
        estimates = ["No figures measured on example photos: this model was not trained from "
                     "examples with cross-validation."]  # fmt: skip
    warnings = [f"Note: {warning}" for warning in training.get("warnings", [])]
    if warnings:
        warnings.insert(0, "")
    return [*lines, *estimates, *warnings]
