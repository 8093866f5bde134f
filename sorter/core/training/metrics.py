"""Validation metrics for multi-label scores and per-category threshold choice (numpy only)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from sorter.core.model.decide import decide

log = logging.getLogger(__name__)

# The seed 002 plot: accuracy_multi at thresholds 0.05, 0.10, ... 0.95.
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)
MIN_POSITIVES = 2  # fewer validation positives than this: keep the default threshold


def accuracy_multi(
    scores: np.ndarray, targets: np.ndarray, thresh: float | np.ndarray = 0.5
) -> float:
    """fastai's accuracy_multi: the share of (image, category) decisions that are right.

    `thresh` is one threshold, or an array of one per category (column).
    """
    if scores.size == 0:
        return float("nan")
    return float(np.mean((scores >= thresh) == (targets > 0.5)))


def accuracy_curve(
    scores: np.ndarray, targets: np.ndarray, grid: Sequence[float] = tuple(THRESHOLD_GRID)
) -> list[tuple[float, float]]:
    """(threshold, accuracy_multi) for every threshold in `grid`."""
    return [(float(t), accuracy_multi(scores, targets, t)) for t in grid]


def top1_accuracy(scores: np.ndarray, targets: np.ndarray) -> float | None:
    """Accuracy of the best-scoring category, over images with exactly one label.

    None when no image has exactly one label (pure multi-label data).
    """
    single = targets.sum(axis=1) == 1
    if not single.any():
        return None
    predicted = scores[single].argmax(axis=1)
    truth = targets[single].argmax(axis=1)
    return float(np.mean(predicted == truth))


def _f1(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(pred & truth))
    fp = float(np.sum(pred & ~truth))
    fn = float(np.sum(~pred & truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def best_f1_threshold(
    scores: np.ndarray, truth: np.ndarray, grid: Sequence[float] = tuple(THRESHOLD_GRID)
) -> float:
    """The threshold with the highest F1 for one category; the middle one on a tie.

    Small validation sets give wide plateaus of equal F1: the middle keeps the widest margin.
    """
    truth = truth > 0.5
    f1s = [_f1(scores >= t, truth)[2] for t in grid]
    best = max(f1s)
    ties = [t for t, f in zip(grid, f1s, strict=True) if f >= best - 1e-9]
    return float(ties[len(ties) // 2])


def choose_thresholds(
    scores: np.ndarray,
    targets: np.ndarray,
    categories: Sequence[str],
    default: float = 0.5,
    min_positives: int = MIN_POSITIVES,
) -> dict[str, float]:
    """Per-category thresholds that maximise validation F1.

    A category with fewer than `min_positives` validation positives, or no negatives, keeps
    `default`: too little evidence to move it.
    """
    chosen = {}
    for col, name in enumerate(categories):
        truth = targets[:, col] > 0.5
        if truth.sum() < min_positives or truth.all():
            chosen[name] = float(default)
        else:
            chosen[name] = best_f1_threshold(scores[:, col], truth)
    return chosen


def category_metrics(
    scores: np.ndarray,
    targets: np.ndarray,
    categories: Sequence[str],
    thresholds: Mapping[str, float],
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per category at its threshold."""
    out = {}
    for col, name in enumerate(categories):
        truth = targets[:, col] > 0.5
        pred = scores[:, col] >= thresholds[name]
        precision, recall, f1 = _f1(pred, truth)
        out[name] = {
            "threshold": float(thresholds[name]),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": int(truth.sum()),
        }
    return out


def decided_accuracy(
    scores: np.ndarray,
    targets: np.ndarray,
    categories: Sequence[str],
    thresholds: Mapping[str, float],
    default: float = 0.5,
) -> tuple[float, int]:
    """(share of images whose decided category set is exactly right, how many are uncertain)."""
    if len(scores) == 0:
        return float("nan"), 0
    right = uncertain = 0
    for row, truth in zip(scores, targets, strict=True):
        chosen = set(decide(row.tolist(), categories, default, thresholds))
        expected = {name for name, t in zip(categories, truth, strict=True) if t > 0.5}
        right += chosen == expected
        uncertain += not chosen
    return right / len(scores), uncertain


def bce_losses(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy per image (the loss training minimised)."""
    p = np.clip(scores, 1e-7, 1 - 1e-7)
    return -np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p), axis=1)


def top_losses(
    scores: np.ndarray,
    targets: np.ndarray,
    paths: Sequence[Path],
    categories: Sequence[str],
    thresholds: Mapping[str, float],
    k: int = 10,
) -> list[dict]:
    """The k validation images the model got most wrong, worst first."""
    losses = bce_losses(scores, targets)
    rows = []
    for index in np.argsort(-losses)[:k]:
        row = scores[index]
        rows.append(
            {
                "path": str(paths[index]),
                "loss": float(losses[index]),
                "labels": [c for c, t in zip(categories, targets[index], strict=True) if t > 0.5],
                "predicted": decide(row.tolist(), categories, 0.5, thresholds),
                "scores": {c: round(float(s), 4) for c, s in zip(categories, row, strict=True)},
            }
        )
    return rows
