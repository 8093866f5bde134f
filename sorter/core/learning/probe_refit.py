"""Retraining a probe-trained model as a probe, with the recipe (the L2) its training chose."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from sorter.core.jobs import CancelToken
from sorter.core.learning.crossfit import fold_scores
from sorter.core.learning.data import folds as make_folds
from sorter.core.model.meta import ModelMeta
from sorter.core.model.networks import BODY_FEATURES
from sorter.core.training.probe import Probe, fit_probe, probe_head

DEFAULT_L2 = 0.01  # a probe-trained model that does not record the L2 its training chose


def probe_l2(meta: ModelMeta) -> float:
    """The L2 the current model's training chose by cross-validation: the same pull, whether
    towards zero (a fresh probe) or towards the current probe (anchored)."""
    return float((meta.training.get("cross_validation") or {}).get("l2", DEFAULT_L2))


def fit_probe_head(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    arch: str,
    exclusive: bool,
    l2: float,
    anchor: Probe | None,
    seed: int,
    cancel: CancelToken | None,
) -> nn.Sequential:
    """A linear probe in fastai's head layout, as quick training makes one: fresh, or pulled
    towards `anchor` (the current model's probe) when the original data is gone. L-BFGS is
    deterministic: `seed` is not needed."""
    del seed
    probe = fit_probe(x, y, exclusive=exclusive, l2=l2, cancel=cancel, anchor=anchor)
    return probe_head(probe, BODY_FEATURES[arch])


def cross_validated(meta: ModelMeta) -> bool:
    """Whether the model's training cross-validated on all its images (no hold-out)."""
    return bool(meta.training.get("cross_validation"))


def folded_scores(
    fit_one: Callable[..., nn.Module],
    score: Callable[[nn.Module, torch.Tensor], np.ndarray],
    original: tuple[torch.Tensor, torch.Tensor],
    rest: list[tuple[torch.Tensor, np.ndarray]],
    *,
    exclusive: bool,
    l2: float,
    folds: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold scores of every original image of a model that learned them all (trained
    with cross-validation): (the candidate's, the current model's).

    On each fold the candidate's recipe (`fit_one` on the other folds' originals and all of
    `rest`, the corrections and kept images) and the current model's (a probe on the other
    folds' originals alone, with its L2) score the fold's images.
    """
    x_orig, y_orig = original[0], original[1].numpy()
    held = make_folds(y_orig, folds, seed + 2)
    x_rest = [x for x, _ in rest]
    y_rest = [torch.from_numpy(y) for _, y in rest]

    def candidate(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
        return fit_one(torch.cat([x, *x_rest]), torch.cat([y, *y_rest]), seed=seed)

    def current(x: torch.Tensor, y: torch.Tensor, seed: int) -> Probe:
        return fit_probe(x, y, exclusive=exclusive, l2=l2)

    new = fold_scores(candidate, score, x_orig, y_orig, held, seed)
    old = fold_scores(current, lambda probe, x: probe.scores(x), x_orig, y_orig, held, seed)
    return new, old
