"""Validation metrics and per-category threshold choice, for both kinds of model (numpy only).

Multi-label models (a sigmoid per category) put an image in every category that passes;
single-label ("exclusive", a softmax) models in its best category when that one passes.
"""

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
# Single-label thresholds (exclusive_thresholds): a finer grid (a softmax's best probability
# ranges over 1/C..1), and how many scored images count as evidence at all.
FINE_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
MIN_IMAGES = 5
# The single-label rule's aims (exclusive_thresholds): placed images right this much more often
# than the best category alone, while still placing this share of the right placements.
PRECISION_GAIN = 0.05
KEEP_RIGHT = 0.9
# The out-of-fold precision must clear the goal by this many of its binomial standard errors.
# The rule takes the first threshold whose (noisy) precision crosses the goal, and a first
# crossing tends to be a lucky one: with no allowance the test precision of bench/
# rule_frontier.py's draws fell 0.8 points short of the goal on average (3 of its 4 rows).
PRECISION_Z = 0.5


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


def exact_set_thresholds(
    scores: np.ndarray,
    targets: np.ndarray,
    categories: Sequence[str],
    default: float = 0.5,
    min_positives: int = MIN_POSITIVES,
    passes: int = 2,
    max_labels: int | None = None,
) -> dict[str, float]:
    """Multi-label thresholds for what a user sees: the share of images whose folders are
    exactly their labels (uncertain for an image of none), as large as it can be made, with
    sorting's `max_labels` limit applied as sorting applies it.

    Starts from choose_thresholds (best F1 each), then moves one category's threshold at a
    time along THRESHOLD_GRID to where that share is highest, `passes` times over the
    categories; a move must gain, so ties keep the F1 choice. Categories with too little
    evidence keep `default`, as in choose_thresholds.
    """
    chosen = choose_thresholds(scores, targets, categories, default, min_positives)
    truth = targets > 0.5
    if len(scores) == 0:
        return chosen
    values = np.array([chosen[name] for name in categories])
    movable = [col for col in range(len(categories))
               if min_positives <= truth[:, col].sum() < len(truth)]  # fmt: skip

    def exact(thresholds: np.ndarray) -> int:
        placed = capped(scores, scores >= thresholds, max_labels)
        return int(np.sum(np.all(placed == truth, axis=1)))

    for _ in range(passes):
        for col in movable:
            best, best_value = exact(values), values[col]
            for threshold in THRESHOLD_GRID:
                values[col] = threshold
                right = exact(values)
                if right > best:
                    best, best_value = right, float(threshold)
            values[col] = best_value
    return {name: float(values[col]) for col, name in enumerate(categories)}


def capped(scores: np.ndarray, passing: np.ndarray, max_labels: int | None) -> np.ndarray:
    """`passing` (N, C) with each row cut to its `max_labels` highest-scoring passing
    categories, as decide() cuts one image's (None: unchanged)."""
    if max_labels is None or len(scores) == 0 or max_labels >= scores.shape[1]:
        return passing
    masked = np.where(passing, scores, -np.inf)
    # a stable sort of the negated scores: ties go to the earlier category, as in decide()
    order = np.argsort(-masked, axis=1, kind="stable")[:, :max_labels]
    keep = np.zeros_like(passing)
    np.put_along_axis(keep, order, True, axis=1)
    return passing & keep


def exclusive_thresholds(
    scores: np.ndarray,
    targets: np.ndarray,
    categories: Sequence[str],
    default: float = 0.5,
    min_images: int = MIN_IMAGES,
    grid: Sequence[float] = tuple(FINE_GRID),
    z: float = PRECISION_Z,
) -> dict[str, float]:
    """The threshold of a single-label model, on the best category's probability: the same
    for every category.

    The rule: an image is placed in its best category when that probability reaches the
    threshold, else it goes to uncertain. Over the scored images (out-of-fold scores: each
    from a model that did not learn it), the threshold is the lowest on `grid` at which the
    placed images are right clearly more often than the best category alone is
    (`precision_goal`), with `z` standard errors of that out-of-fold precision to spare (the
    fewer images placed, the more to spare). So the least sure images go to uncertain until
    the rest are measurably safer, and how many follows from how hard the categories are; but
    never past the highest threshold that still places KEEP_RIGHT of the images it would place
    rightly (nor, when no threshold gets there, any lower than it): uncertain must not swallow
    the right answers. One threshold for all categories: with ten images a category, a
    category's own would rest on ten scores. Fewer than `min_images` scored images keep
    `default`.
    """
    if len(scores) < min_images:
        return {name: float(default) for name in categories}
    rows = np.arange(len(scores))
    best = scores.argmax(axis=1)
    top, right = scores[rows, best], targets[rows, best] > 0.5
    goal = precision_goal(float(np.mean(right)))
    safer = [t for t in grid if _clears(right[top >= t], goal, z)]
    keeps = [t for t in grid if np.sum(right & (top >= t)) >= KEEP_RIGHT * np.sum(right)]
    highest_keeping = keeps[-1] if keeps else grid[0]
    chosen = min(safer[0], highest_keeping) if safer else highest_keeping
    return dict.fromkeys(categories, float(chosen))


def _clears(right: np.ndarray, goal: float, z: float) -> bool:
    """Whether images placed with these right/wrong outcomes meet `goal` with z binomial
    standard errors of their precision to spare (False when none is placed)."""
    if len(right) == 0:
        return False
    precision = float(np.mean(right))
    error = (precision * (1.0 - precision) / len(right)) ** 0.5
    return precision - z * error >= goal - 1e-9


def precision_goal(top1: float) -> float:
    """The placed-precision a single-label threshold aims at: PRECISION_GAIN above the best
    category's accuracy, or a fifth fewer mistakes when that is less (an accurate model)."""
    return top1 + min(PRECISION_GAIN, (1.0 - top1) / 5)


def decisions(
    scores: np.ndarray,
    categories: Sequence[str],
    thresholds: Mapping[str, float],
    exclusive: bool = False,
    default: float = 0.5,
    max_labels: int | None = None,
) -> np.ndarray:
    """(N, C) booleans: the folders `decide` sends each image to, for either kind of model."""
    out = np.zeros(scores.shape, dtype=bool)
    index = {name: col for col, name in enumerate(categories)}
    for row, values in enumerate(scores):
        chosen = decide(
            values.tolist(), categories, default, thresholds, exclusive=exclusive,
            max_labels=max_labels,
        )  # fmt: skip
        out[row, [index[name] for name in chosen]] = True
    return out


def placement(
    scores: np.ndarray,
    targets: np.ndarray,
    categories: Sequence[str],
    thresholds: Mapping[str, float],
    exclusive: bool = False,
    max_labels: int | None = None,
) -> dict[str, float | None]:
    """Where the decisions put the images, counted as a user sees the sorted folders.

    exact_folder: share of images placed in exactly their own folders (uncertain counts as
    wrong for a labelled image); placed_precision: share of the copies made that are in a right
    folder; coverage: share of images placed at all; multi_folder_share: share in 2+ folders;
    top1: accuracy of the best category alone (images with exactly one label).
    """
    if len(scores) == 0:
        return dict.fromkeys(
            ("top1", "exact_folder", "placed_precision", "coverage", "multi_folder_share")
        )
    chosen = decisions(scores, categories, thresholds, exclusive, max_labels=max_labels)
    truth = targets > 0.5
    copies, per_image = int(chosen.sum()), chosen.sum(axis=1)
    return {
        "top1": top1_accuracy(scores, targets),
        "exact_folder": float(np.mean(np.all(chosen == truth, axis=1))),
        "placed_precision": float((chosen & truth).sum() / copies) if copies else None,
        "coverage": float(np.mean(per_image > 0)),
        "multi_folder_share": float(np.mean(per_image > 1)),
    }


def category_metrics(
    scores: np.ndarray,
    targets: np.ndarray,
    categories: Sequence[str],
    thresholds: Mapping[str, float],
    exclusive: bool = False,
    max_labels: int | None = None,
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per category, as `decide` places the images."""
    chosen = decisions(scores, categories, thresholds, exclusive, max_labels=max_labels)
    out = {}
    for col, name in enumerate(categories):
        truth = targets[:, col] > 0.5
        pred = chosen[:, col]
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
    exclusive: bool = False,
    max_labels: int | None = None,
) -> tuple[float, int]:
    """(share of images whose decided category set is exactly right, how many are uncertain)."""
    if len(scores) == 0:
        return float("nan"), 0
    chosen = decisions(scores, categories, thresholds, exclusive, default, max_labels)
    right = np.all(chosen == (targets > 0.5), axis=1)
    return float(np.mean(right)), int(np.sum(~chosen.any(axis=1)))


def bce_losses(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy per image (the loss a multi-label model minimised)."""
    p = np.clip(scores, 1e-7, 1 - 1e-7)
    return -np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p), axis=1)


def cross_entropy_losses(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Softmax cross-entropy per image against its labels spread evenly (none: over every
    category): the loss a single-label model minimised (quick.head_loss)."""
    total = targets.sum(axis=1, keepdims=True)
    uniform = np.full_like(targets, 1.0 / max(1, targets.shape[1]), dtype=np.float64)
    wanted = np.where(total > 0, targets / np.maximum(total, 1e-12), uniform)
    return -np.sum(wanted * np.log(np.clip(scores, 1e-7, 1.0)), axis=1)


def losses(scores: np.ndarray, targets: np.ndarray, exclusive: bool = False) -> np.ndarray:
    """Per-image loss of the kind the model trained with."""
    return cross_entropy_losses(scores, targets) if exclusive else bce_losses(scores, targets)


def top_losses(
    scores: np.ndarray,
    targets: np.ndarray,
    paths: Sequence[Path],
    categories: Sequence[str],
    thresholds: Mapping[str, float],
    k: int = 10,
    exclusive: bool = False,
    max_labels: int | None = None,
) -> list[dict]:
    """The k validation images the model got most wrong, worst first."""
    per_image = losses(scores, targets, exclusive)
    rows = []
    for index in np.argsort(-per_image)[:k]:
        row = scores[index]
        rows.append(
            {
                "path": str(paths[index]),
                "loss": float(per_image[index]),
                "labels": [c for c, t in zip(categories, targets[index], strict=True) if t > 0.5],
                "predicted": decide(
                    row.tolist(),
                    categories,
                    0.5,
                    thresholds,
                    exclusive=exclusive,
                    max_labels=max_labels,
                ),
                "scores": {c: round(float(s), 4) for c, s in zip(categories, row, strict=True)},
            }
        )
    return rows
