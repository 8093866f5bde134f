"""k-fold cross-validation on cached features: the probe's regularisation, out-of-fold scores.

With ten images per category a fixed 20% hold-out leaves two per category to judge by and
trains on the other eight. Here every image is scored once by a probe that did not see it
(its out-of-fold score); those scores choose the regularisation and, later, the thresholds,
and the final probe is fitted on every image.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress
from sorter.core.training import metrics as th
from sorter.core.training.probe import Probe, fit_probe

log = logging.getLogger(__name__)

FOLDS = 5
# The L2 weights tried (the penalty is l2 * sum of squared weights on standardised features).
# On bench/train_quality.py's folder sets cross-validation picked from the whole range.
L2_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
FEW_IMAGES = 5  # a category with fewer images gets a warning: its estimates are rough


@dataclass
class CrossValidation:
    """What k-fold cross-validation found: every image's out-of-fold scores and the L2 chosen."""

    folds: np.ndarray  # (N,) fold number of each image
    scores: np.ndarray  # (N, C) out-of-fold scores, as sorting computes them
    l2: float
    losses: dict[float, float] = field(default_factory=dict)  # mean out-of-fold loss per L2

    @property
    def k(self) -> int:
        return int(self.folds.max()) + 1 if len(self.folds) else 0


def fold_count(targets: np.ndarray, folds: int = FOLDS) -> int:
    """How many folds: FOLDS, fewer when the smallest category has fewer images, at least 2."""
    counts = targets.sum(axis=0)
    present = counts[counts > 0]
    smallest = int(present.min()) if len(present) else folds
    return max(2, min(folds, smallest, len(targets)))


def fold_ids(
    targets: np.ndarray, k: int, seed: int, keys: Sequence[str] | None = None
) -> np.ndarray:
    """A fold number per image: stratified by each image's rarest label, so every category is
    spread over the folds, and images sharing a key (a group) always in the same fold."""
    keys = list(keys) if keys is not None else [str(i) for i in range(len(targets))]
    counts = targets.sum(axis=0)
    members: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        members.setdefault(key, []).append(index)
    strata: dict[int, list[str]] = {}
    for key, rows in members.items():
        labelled = [c for r in rows for c in np.flatnonzero(targets[r] > 0.5)]
        stratum = min(labelled, key=lambda c: (counts[c], c)) if labelled else -1
        strata.setdefault(int(stratum), []).append(key)
    rng = random.Random(seed)
    folds = np.zeros(len(targets), dtype=int)
    offset = 0
    for stratum in sorted(strata):
        group_keys = sorted(strata[stratum])
        rng.shuffle(group_keys)
        for number, key in enumerate(group_keys):
            folds[members[key]] = (offset + number) % k
        offset += len(group_keys)  # the next stratum starts where this one stopped
    return folds


def cross_validate(
    x: torch.Tensor,
    y: torch.Tensor,
    folds: np.ndarray,
    *,
    exclusive: bool,
    mirrored: torch.Tensor | None = None,
    grid: Sequence[float] = L2_GRID,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> CrossValidation:
    """Out-of-fold probe scores for every L2 on `grid`; the one with the lowest mean loss wins.

    `mirrored` (features of each image flipped, in the same order) adds training rows: a
    fold's probe learns from the mirror images of its training images, never of held-out ones.
    """
    k = int(folds.max()) + 1
    meter = RateMeter("Cross-validating", len(grid) * k, unit="fits")
    best: CrossValidation | None = None
    losses: dict[float, float] = {}
    targets = y.numpy()
    for number, l2 in enumerate(grid):
        scores = np.zeros(tuple(y.shape), dtype=np.float32)
        for fold in range(k):
            held = torch.from_numpy(folds == fold)
            train_x, train_y = with_mirrored(x, y, ~held, mirrored)
            probe = fit_probe(train_x, train_y, exclusive=exclusive, l2=l2, cancel=cancel)
            scores[held.numpy()] = probe.scores(x[held])
            progress(meter.report(number * k + fold + 1, f"L2 {l2:g}"))
        losses[l2] = float(np.mean(th.losses(scores, targets, exclusive)))
        if best is None or losses[l2] < losses[best.l2] - 1e-9:
            best = CrossValidation(folds, scores, l2)
    assert best is not None, "the L2 grid is empty"
    best.losses = losses
    log.info("Cross-validated L2 %g (%d folds); losses %s", best.l2, k, losses)
    return best


def with_mirrored(
    x: torch.Tensor, y: torch.Tensor, rows: Any, mirrored: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows of (x, y) to learn from (`rows`: indexes or a mask; None: all), followed by
    their mirrored features (same labels) when there are any."""
    x, y = (x, y) if rows is None else (x[rows], y[rows])
    if mirrored is None:
        return x, y
    return torch.cat([x, mirrored if rows is None else mirrored[rows]]), torch.cat([y, y])


def fit_cross_validated(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    exclusive: bool,
    seed: int,
    keys: Sequence[str] | None = None,
    mirrored: torch.Tensor | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[CrossValidation, Probe]:
    """Quick mode's fit: cross-validate the probe's L2 on (x, y) (folds by fold_ids, groups by
    `keys`), then fit the probe kept on every row, mirrored ones included."""
    targets = y.numpy()
    folds = fold_ids(targets, fold_count(targets), seed, keys)
    cv = cross_validate(
        x, y, folds, exclusive=exclusive, mirrored=mirrored, progress=progress, cancel=cancel
    )
    x_all, y_all = with_mirrored(x, y, None, mirrored)
    return cv, fit_probe(x_all, y_all, exclusive=exclusive, l2=cv.l2, cancel=cancel)


def spread(
    cv: CrossValidation,
    targets: np.ndarray,
    categories: Sequence[str],
    thresholds: dict[str, float],
    exclusive: bool,
    max_labels: int | None = None,
) -> dict[str, dict[str, float]]:
    """Each placement figure (metrics.placement) per fold: mean and standard deviation."""
    per_fold: dict[str, list[float]] = {}
    for fold in range(cv.k):
        rows = cv.folds == fold
        figures = th.placement(
            cv.scores[rows], targets[rows], categories, thresholds, exclusive, max_labels
        )
        for name, value in figures.items():
            if value is not None:
                per_fold.setdefault(name, []).append(float(value))
    return {
        name: {"mean": float(np.mean(values)), "sd": float(np.std(values)), "folds": len(values)}
        for name, values in per_fold.items()
    }


def few_image_warnings(counts: dict[str, int], few: int = FEW_IMAGES) -> list[str]:
    """One warning per category with fewer than `few` images (cross-validation is rough there)."""
    rare = sorted(name for name, n in Counter(counts).items() if n < few)
    return [
        f"The category '{name}' has only {counts[name]} image(s): its figures are rough "
        f"estimates and it may sort poorly; {few} or more examples help."
        for name in rare
    ]
