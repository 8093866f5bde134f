"""Train a Sorter model from example images: data in, a model file and its report out."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import torch

from sorter import __version__
from sorter.core.errors import BadPathError, SorterError
from sorter.core.files import file_sha256
from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.model.meta import IMAGENET, ModelMeta, Preprocessing, sigmoid_meta
from sorter.core.model.modelfile import pick_device, save_model
from sorter.core.model.networks import BODY_FEATURES
from sorter.core.training import quick as train_quick
from sorter.core.training.backbone import find_pretrained_weights, pretrained_body
from sorter.core.training.data import Split, TrainData, TrainOutcome, check, split_data, without
from sorter.core.training.options import TrainOptions, check_options
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
) -> TrainResult:
    """Train on `data` and write the model file `out` plus MODEL.report.json/.png beside it.

    Nothing is written unless training finishes.

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
    log.info("Training %s %s on %s: %d images", options.mode, options.arch, device, len(data.items))
    if options.mode == "quick":
        outcome = _train_quick(data, options, weights, device, progress, cancel)
    else:
        from sorter.core.training.full import train_full

        outcome = train_full(data, options, weights, device, progress=progress, cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return _finish(outcome, out, options, weights, device, time.perf_counter() - started)


def _train_quick(
    data: TrainData,
    options: TrainOptions,
    weights: Path | None,
    device: torch.device,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> TrainOutcome:
    if weights is None:
        raise SorterError(
            f"Quick training needs pretrained ImageNet weights for {options.arch}, and none are "
            f"installed; use --arch mobilenet_v2, or --mode full to train {options.arch} from "
            "scratch (slow, needs many images)."
        )
    pre = Preprocessing(options.input_size, "crop", IMAGENET)
    body = pretrained_body(options.arch, weights)
    started = time.perf_counter()
    data, split, sets = _quick_features(data, options, body, pre, device, progress, cancel)
    feature_seconds = time.perf_counter() - started
    result = train_quick.train_head(
        *sets,
        n_features=BODY_FEATURES[options.arch],
        settings=train_quick.HeadSettings(epochs=options.epoch_count),
        seed=options.seed,
        progress=progress,
        cancel=cancel,
    )
    scores = train_quick.head_scores(result.head, sets[2]).numpy()
    head_seconds = time.perf_counter() - started - feature_seconds
    return TrainOutcome(
        data=data,
        split=split,
        state_dict=train_quick.assemble(options.arch, body, result.head),
        preprocessing=pre,
        valid_scores=scores,
        epochs=len(result.history),
        history=result.history,
        notes=[
            f"Features of {len(data.items)} images in {feature_seconds:.1f} s; head trained in "
            f"{head_seconds:.1f} s (best validation loss at epoch {result.best_epoch} of "
            f"{len(result.history)})."
        ],
    )


def _quick_features(
    data: TrainData,
    options: TrainOptions,
    body: torch.nn.Module,
    pre: Preprocessing,
    device: torch.device,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[TrainData, Split, tuple[torch.Tensor, ...]]:
    """(data without unreadable images, split, (x_train, y_train, x_valid, y_valid)).

    With options.mirror the training part gets each image's mirror image too.
    """
    extract = partial(
        train_quick.extract_features,
        body=body,
        pre=pre,
        device=device,
        batch_size=options.batch_size,
        progress=progress,
        cancel=cancel,
    )
    features, bad = extract([item.path for item in data.items])
    if bad:
        data = without(data, bad)
        check(data)
    split = split_data(data, options.valid_pct, options.seed, options.group)
    y = torch.from_numpy(data.targets())
    x_train, y_train = features[split.train], y[split.train]
    if options.mirror:
        mirrored, _ = extract([data.items[i].path for i in split.train], mirror=True)
        x_train, y_train = torch.cat([x_train, mirrored]), torch.cat([y_train, y_train])
    return data, split, (x_train, y_train, features[split.valid], y[split.valid])


def _finish(
    outcome: TrainOutcome,
    out: Path,
    options: TrainOptions,
    weights: Path | None,
    device: torch.device,
    seconds: float,
) -> TrainResult:
    data, split = outcome.data, outcome.split
    targets = data.targets()[split.valid]
    valid_paths = [data.items[i].path for i in split.valid]
    evaluation = evaluate(
        outcome.valid_scores, targets, valid_paths, data.categories, options.default_threshold
    )
    training = _training_summary(outcome, options, weights, device, seconds, evaluation)
    meta = _trained_meta(outcome, options, weights, evaluation["thresholds"], training)
    save_model(out, meta, outcome.state_dict)
    report = {
        "model": str(out),
        "training": training,
        "evaluation": evaluation,
        "history": outcome.history,
        "warnings": [*data.warnings, *split.warnings],
        "skipped": [{"path": str(p), "reason": r} for p, r in data.skipped],
    }
    json_path, png_path = write_report(out, report)
    return TrainResult(out, json_path, png_path, meta, report, data, seconds, outcome.notes)


def _trained_meta(
    outcome: TrainOutcome,
    options: TrainOptions,
    weights: Path | None,
    thresholds: dict[str, float],
    training: dict[str, Any],
) -> ModelMeta:
    """The metadata of a trained model: sigmoid fastai head, thresholds chosen on validation."""
    return sigmoid_meta(
        options.arch,
        outcome.data.categories,
        outcome.preprocessing,
        default_threshold=options.default_threshold,
        thresholds=thresholds,
        training=training,
        created_by=f"sorter {__version__}",
        backbone_sha256=file_sha256(weights) if weights is not None else None,
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
