"""Train a Sorter model from example images: data in, a model file and its report out."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sorter import __version__
from sorter.core.errors import BadPathError
from sorter.core.files import file_sha256
from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.model.meta import ModelMeta, trained_meta
from sorter.core.model.modelfile import pick_device, save_model
from sorter.core.training import crossval
from sorter.core.training.backbone import find_pretrained_weights, shared_body
from sorter.core.training.data import TrainData, TrainOutcome, check
from sorter.core.training.modes import TRAIN_MODES, TrainJob
from sorter.core.training.options import TrainOptions, check_options, single_label
from sorter.core.training.report import evaluate, write_report

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """Where the model and report went, what they say, and what the user should know."""

    model_path: Path
    report_json: Path
    report_png: Path | None
    meta: ModelMeta
    report: dict[str, Any]
    data: TrainData
    seconds: float
    notes: list[str] = field(default_factory=list)
    # The scores the thresholds were chosen from, (N, C) as sorting computes them, and their
    # 0/1 targets: every image out of fold in quick mode, the hold-out images in full mode.
    judged_scores: np.ndarray | None = None
    judged_targets: np.ndarray | None = None

    @property
    def warnings(self) -> list[str]:
        return list(self.report.get("warnings", []))


def check_out_path(out: Path) -> Path:
    """The model file to write: must not exist yet (a model is never overwritten)."""
    out = Path(out).resolve()
    if out.exists():
        raise BadPathError(f"{out} already exists; choose another --out name or move it away.")
    if out.suffix.lower() != ".pth":
        raise BadPathError(f"Model files end in .pth; {out.name} does not.")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def train(
    data: TrainData,
    out: Path,
    options: TrainOptions | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    compact: bool = False,
) -> TrainResult:
    """Train on `data` and write the model file `out` plus MODEL.report.json/.png beside it.

    A single-label model (softmax; at most one folder per image) when every image has exactly
    one label, else a multi-label one (a sigmoid per category); `options.labels` overrides.
    Nothing is written unless training finishes. `compact`: leave the shipped networks'
    weights out of `out` when training left them unchanged (save_model), as the user's stored
    versions do; a file meant for elsewhere (`--out`) holds every weight.

    Raises:
        SorterError: bad options, unusable data, an existing `out`, missing weights (quick mode).
        Cancelled: `cancel` was triggered.
    """
    started = time.perf_counter()
    options = options or TrainOptions()
    check_options(options)
    out = check_out_path(out)
    check(data)
    weights = find_pretrained_weights(options.arch)
    device = pick_device(options.device)
    exclusive = single_label(options, data)
    log.info("Training %s %s (%s-label) on %s: %d images", options.mode, options.arch,
             "single" if exclusive else "multi", device, len(data.items))  # fmt: skip
    job = TrainJob(data, options, weights, device, exclusive)
    outcome = TRAIN_MODES.get(options.mode).fit(job, progress=progress, cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    outcome.notes.append(kind_note(data, options, exclusive))
    seconds = time.perf_counter() - started
    return _finish(outcome, out, options, weights, device, seconds, compact)


def kind_note(data: TrainData, options: TrainOptions, exclusive: bool) -> str:
    """One sentence saying which kind of model was trained, and why."""
    if options.labels is not None:
        why = f"as asked (--{options.labels}-label)"
    elif exclusive:
        why = "every image is in exactly one category"
    elif data.unlabelled:
        why = f"{data.unlabelled} image(s) are examples of none of the categories"
    else:
        why = "some images have several labels"
    if exclusive:
        return (f"Single-label model ({why}): each image goes to its best category when that "
                "passes its threshold, else to uncertain.")  # fmt: skip
    cap = label_limit(data)
    limit = f", at most {cap} (no example has more labels)" if cap else ""
    return (f"Multi-label model ({why}): each image goes to every category that passes its "
            f"threshold{limit}, or to uncertain.")  # fmt: skip


def _finish(
    outcome: TrainOutcome,
    out: Path,
    options: TrainOptions,
    weights: Path | None,
    device: torch.device,
    seconds: float,
    compact: bool = False,
) -> TrainResult:
    data, split, exclusive = outcome.data, outcome.split, outcome.exclusive
    targets = data.targets()[split.valid]
    valid_paths = [data.items[i].path for i in split.valid]
    cap = None if exclusive else label_limit(data)
    evaluation = evaluate(
        outcome.valid_scores, targets, valid_paths, data.categories, options.default_threshold,
        exclusive, cap,
    )  # fmt: skip
    cross_validation = _cross_validation(outcome, evaluation["thresholds"], cap)
    training = _training_summary(outcome, options, weights, device, seconds, evaluation)
    training["validation"] = _validation_kind(outcome)
    if cross_validation is not None:
        training["cross_validation"] = cross_validation
    training["warnings"] = [*data.warnings, *split.warnings]
    meta = _trained_meta(outcome, options, weights, evaluation["thresholds"], training, cap)
    shared = shared_body(meta.arch, meta.builder) if compact else None
    meta = meta.replace(state_dict_sha256=save_model(out, meta, outcome.state_dict, shared))
    report = {
        "model": str(out),
        "training": training,
        "evaluation": evaluation,
        "history": outcome.history,
        "warnings": training["warnings"],
        "skipped": [{"path": str(p), "reason": r} for p, r in data.skipped],
    }
    json_path, png_path = write_report(out, report)
    return TrainResult(
        out, json_path, png_path, meta, report, data, seconds, outcome.notes,
        judged_scores=outcome.valid_scores, judged_targets=targets,
    )  # fmt: skip


def _validation_kind(outcome: TrainOutcome) -> str:
    """How the figures were measured, in words."""
    cv = outcome.cross_validation
    if cv is not None:
        return (f"{cv.k}-fold cross-validation: every image scored by a model that did not "
                "learn from it")  # fmt: skip
    return f"hold-out: {len(outcome.split.valid)} images kept out of training"


def label_limit(data: TrainData) -> int | None:
    """A multi-label model's most folders per image: the most labels a training image has.
    None when that limits nothing (as many as there are categories), and when no image has two
    (--multi-label on single-label data asks for several folders where scores allow)."""
    most = max((len(item.labels) for item in data.items), default=0)
    return most if 1 < most < len(data.categories) else None


def _cross_validation(
    outcome: TrainOutcome, thresholds: dict[str, float], max_labels: int | None = None
) -> dict | None:
    """The cross-validation's choices and each figure's mean and spread over the folds."""
    cv = outcome.cross_validation
    if cv is None:
        return None
    data = outcome.data
    return {
        "folds": cv.k,
        "l2": cv.l2,
        "loss_by_l2": {f"{l2:g}": loss for l2, loss in cv.losses.items()},
        "spread": crossval.spread(
            cv, data.targets(), data.categories, thresholds, outcome.exclusive, max_labels
        ),
    }


def _trained_meta(
    outcome: TrainOutcome,
    options: TrainOptions,
    weights: Path | None,
    thresholds: dict[str, float],
    training: dict[str, Any],
    max_labels: int | None = None,
) -> ModelMeta:
    """The metadata of a trained model: fastai head, softmax (single-label) or a sigmoid per
    category (multi-label, at most `max_labels` folders an image), thresholds chosen on
    validation."""
    return trained_meta(
        options.arch,
        outcome.data.categories,
        outcome.preprocessing,
        exclusive=outcome.exclusive,
        default_threshold=options.default_threshold,
        thresholds=thresholds,
        training=training,
        created_by=f"sorter {__version__}",
        backbone_sha256=file_sha256(weights) if weights is not None else None,
        max_labels=max_labels,
    )


def _training_summary(
    outcome: TrainOutcome,
    options: TrainOptions,
    weights: Path | None,
    device: torch.device,
    seconds: float,
    evaluation: dict[str, Any],
) -> dict[str, Any]:
    data, split = outcome.data, outcome.split
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_path": str(data.source),
        "image_counts": data.counts(),
        "images": len(data.items),
        "unlabelled_images": data.unlabelled,
        "train_images": len(split.train),
        "valid_images": len(split.valid),
        "skipped_images": len(data.skipped),
        "labels": "single" if outcome.exclusive else "multi",
        "metrics": evaluation["metrics"],
        "arch": options.arch,
        "mode": options.mode,
        "pretrained": weights is not None,
        "epochs": outcome.epochs,
        "seed": options.seed,
        "valid_pct": options.valid_pct,
        "group": options.group,
        "device": device.type,
        "seconds": round(seconds, 1),
    }
