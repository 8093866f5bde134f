"""Cross-validation for quick retraining: out-of-fold scores of corrections and kept images."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sorter.core.jobs import ProgressCallback, RateMeter
from sorter.core.learning.data import folds as make_folds
from sorter.core.learning.data import targets_for
from sorter.core.learning.evaluate import CandidateScores
from sorter.core.training.data import TrainItem


@dataclass
class Sets:
    """Cached features and targets of the corrections and of the kept images."""

    x_corr: torch.Tensor
    y_corr: np.ndarray
    x_kept: torch.Tensor
    y_kept: np.ndarray


@dataclass
class CrossFit:
    """Out-of-fold scores (each image scored by a model not trained on it) and the final fit."""

    judged: list[int]  # corrections scored out of fold
    corrections: np.ndarray
    kept: np.ndarray | None  # every kept image, out of fold; None when none or too few
    final: Any

    def candidate_scores(
        self, valid: list[TrainItem], valid_scores: np.ndarray | None, categories: list[str]
    ) -> CandidateScores:
        empty = np.zeros((0, len(categories)), dtype=np.float32)
        return CandidateScores(
            self.judged, self.corrections, [i.path for i in valid],
            valid_scores if valid_scores is not None else empty,
            targets_for([i.labels for i in valid], categories), kept=self.kept,
        )  # fmt: skip


def joint_folds(
    y_corr: np.ndarray, y_kept: np.ndarray, k: int, seed: int
) -> list[tuple[list[int], list[int]]]:
    """(held corrections, held kept images) per fold: both sets cut into the same number of
    folds, each stratified by category, so each image of either is scored once by a model that
    did not learn it."""
    corr = make_folds(y_corr, k, seed)
    n_kept = len(y_kept)
    n = len(corr) or (min(k, n_kept) if n_kept >= 2 else 0)
    kept = make_folds(y_kept, n, seed + 1) if n else []
    kept += [[] for _ in range(n - len(kept))]
    corr += [[] for _ in range(n - len(corr))]
    return list(zip(corr, kept, strict=True))


def cross_fit(
    fit: Callable[[list[tuple[torch.Tensor, torch.Tensor]], int], Any],
    score: Callable[[Any, torch.Tensor], np.ndarray],
    sets: Sets,
    folds: int,
    seed: int,
    progress: ProgressCallback,
) -> CrossFit:
    """Train one model per fold and score what it held out, then the final model on all."""
    x_c, y_c = sets.x_corr, torch.from_numpy(sets.y_corr)
    x_k, y_k = sets.x_kept, torch.from_numpy(sets.y_kept)
    splits = joint_folds(sets.y_corr, sets.y_kept, folds, seed)
    oof_c = np.zeros(tuple(y_c.shape), dtype=np.float32)
    oof_k = np.zeros(tuple(y_k.shape), dtype=np.float32)
    meter = RateMeter("Training (cross-validation, then the new model)", len(splits) + 1, "models")
    progress(meter.report(0))
    for number, (held_c, held_k) in enumerate(splits, start=1):
        keep_c = [i for i in range(len(x_c)) if i not in set(held_c)]
        keep_k = [i for i in range(len(x_k)) if i not in set(held_k)]
        model = fit([(x_c[keep_c], y_c[keep_c]), (x_k[keep_k], y_k[keep_k])], seed + number)
        if held_c:
            oof_c[held_c] = score(model, x_c[held_c])
        if held_k:
            oof_k[held_k] = score(model, x_k[held_k])
        progress(meter.report(number))
    final = fit([(x_c, y_c), (x_k, y_k)], seed)
    progress(meter.report(len(splits) + 1))
    judged = sorted(i for held, _ in splits for i in held)
    kept = oof_k if splits and len(x_k) else None
    return CrossFit(judged, oof_c[judged], kept, final)


def fold_scores(
    fit: Callable[[torch.Tensor, torch.Tensor, int], Any],
    score: Callable[[Any, torch.Tensor], np.ndarray],
    x: torch.Tensor,
    y: np.ndarray,
    held: list[list[int]],
    seed: int,
) -> np.ndarray:
    """Each row of (x, y) scored by a model fitted on the other folds' rows: `fit(x, y, seed)`
    adds whatever else every model learns (rows of no fold stay unscored, zero)."""
    scores = np.zeros(y.shape, dtype=np.float32)
    for number, rows in enumerate(held, start=1):
        if rows:
            learn = np.ones(len(y), dtype=bool)
            learn[rows] = False
            model = fit(x[torch.from_numpy(learn)], torch.from_numpy(y[learn]), seed + number)
            scores[rows] = score(model, x[rows])
    return scores


def fold_notes(oof: CrossFit) -> list[str]:
    if oof.judged:
        return []
    return ["Too few corrections to hold any out; judged on the other images only."]
