"""Quick retraining: features from the current model's body, computed once; heads train on them."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sorter import __version__
from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress
from sorter.core.learning.data import (
    RetrainData,
    RetrainError,
    original_items,
    targets_for,
    training_summary,
)
from sorter.core.learning.data import folds as make_folds
from sorter.core.learning.evaluate import CandidateScores
from sorter.core.model.meta import ModelMeta, trained_meta
from sorter.core.model.networks import BODY_FEATURES, FASTAI_CUTS, build_network
from sorter.core.training import metrics as th
from sorter.core.training import quick as train_quick
from sorter.core.training.data import TrainItem

log = logging.getLogger(__name__)

FOLDS = 5
HEAD_EPOCHS = 40
MIN_STEPS = 200  # optimizer steps a fresh head needs, however few the images
MAX_EPOCHS = 200
BATCH = 32
WARM_EPOCHS = 20  # a head that already knows the old categories needs fewer, gentler epochs
WARM_LR = 1e-3


@dataclass
class QuickFit:
    """Quick mode's candidate: the base model's body with a head taught every correction.

    Corrections are judged by cross-validation (each scored by a head not taught it), so none
    has to stay out of the final head.
    """

    state_dict: dict[str, torch.Tensor]
    meta: ModelMeta
    scores: CandidateScores  # out-of-fold scores of every correction (none when too few)
    warm: bool  # the head started from the base model's: the original data is gone
    notes: list[str] = field(default_factory=list)
    skipped: dict[Path, str] = field(default_factory=dict)

    @property
    def untaught(self) -> frozenset[int]:
        return frozenset()  # the final head learns from every correction

    @property
    def remembers_base(self) -> bool:
        """A warm multi-label head still knows the base's categories that no image or
        correction shows: each has its own sigmoid, which corrections of others barely move.

        Not so a single-label (softmax) head: a category learned from corrections alone
        takes every image that looks more like it than like the rest, including those of an
        uncorrected category that the features hardly tell apart, and no image is there to
        show it (measured: a tiny red/blue model taught green sent blue images to green).
        """
        return self.warm and not self.meta.exclusive


def split_network(
    meta: ModelMeta, state_dict: dict[str, torch.Tensor]
) -> tuple[nn.Module, nn.Sequential | None]:
    """(body, head or None) of a model: the head only when it is a fastai head we can extend."""
    network = build_network(meta)
    network.load_state_dict(state_dict, strict=True)
    if meta.builder == "fastai":
        return network[0], network[1]
    children = list(network.children())[: FASTAI_CUTS[meta.arch]]
    return nn.Sequential(*children), None


def extended_head(head: nn.Sequential, n_out: int) -> nn.Sequential:
    """A copy of a fastai head with room for more categories (old rows kept, new ones fresh)."""
    new = copy.deepcopy(head)
    old_linear: nn.Linear = head[-1]
    if old_linear.out_features == n_out:
        return new
    fresh = nn.Linear(old_linear.in_features, n_out, bias=old_linear.bias is not None)
    nn.init.kaiming_normal_(fresh.weight)
    with torch.no_grad():
        fresh.weight[: old_linear.out_features] = old_linear.weight
        if fresh.bias is not None:
            fresh.bias.zero_()
            fresh.bias[: old_linear.out_features] = old_linear.bias
    new[-1] = fresh
    return new


def fit_head(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    arch: str,
    warm: nn.Sequential | None,
    seed: int,
    cancel: CancelToken | None,
    exclusive: bool = False,
) -> nn.Sequential:
    """A head trained on features: fine-tuned from `warm` when given, else fresh (fastai's).

    `exclusive`: a single-label head (softmax cross-entropy), else a multi-label one.
    """
    if warm is not None:
        settings = train_quick.HeadSettings(
            epochs=WARM_EPOCHS, lr=WARM_LR, batch_size=BATCH, exclusive=exclusive
        )
        return train_quick.warm_head(warm, x, y, settings=settings, seed=seed, cancel=cancel)
    empty = x[:0]
    steps_per_epoch = max(1, -(-len(x) // BATCH))
    # a few corrections make one batch per epoch: train long enough to learn them anyway
    epochs = max(HEAD_EPOCHS, min(MAX_EPOCHS, -(-MIN_STEPS // steps_per_epoch)))
    result = train_quick.train_head(
        x, y, empty, y[:0],
        n_features=BODY_FEATURES[arch],
        settings=train_quick.kind_settings(exclusive, epochs=epochs, batch_size=BATCH),
        seed=seed,
        cancel=cancel,
    )  # fmt: skip
    return result.head


class _Features:
    """Pooled features of every image, looked up by path."""

    def __init__(self, paths: Sequence[Path], feats: torch.Tensor, bad: dict[Path, str]) -> None:
        ok = [p for p in paths if p not in bad]
        self.index = {p: i for i, p in enumerate(ok)}
        self.feats = feats
        self.bad = bad

    def readable(self, items: Sequence[TrainItem]) -> list[TrainItem]:
        return [i for i in items if i.path in self.index]

    def of(self, paths: Sequence[Path]) -> torch.Tensor:
        return self.feats[[self.index[p] for p in paths]]


def _targets(items: Sequence[TrainItem], categories: list[str]) -> torch.Tensor:
    return torch.from_numpy(targets_for([i.labels for i in items], categories))


def quick_fit(
    data: RetrainData,
    meta: ModelMeta,
    state_dict: dict[str, torch.Tensor],
    device: torch.device,
    base_path: Path,
    *,
    seed: int = 42,
    folds: int = FOLDS,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> QuickFit:
    """Cross-validate on the corrections (`folds` folds), then train the final head on all.

    The new model is of the base model's kind (single- or multi-label).
    """
    body, old_head = split_network(meta, state_dict)
    n_out = len(data.categories)
    # Without the original data the old head is the only memory of categories nobody corrected.
    warm = (
        extended_head(old_head, n_out) if old_head is not None and data.original is None else None
    )
    train_items, valid_items = original_items(data, "train"), original_items(data, "valid")
    found = _extract(data, train_items + valid_items, body, meta, device, progress, cancel)
    train_ok, valid_ok = found.readable(train_items), found.readable(valid_items)
    original = found.of([i.path for i in train_ok]), _targets(train_ok, data.categories)
    corrections = found.of(data.correction_paths), torch.from_numpy(data.correction_targets())
    exclusive = meta.exclusive
    fit = partial(fit_head, arch=meta.arch, warm=warm, cancel=cancel, exclusive=exclusive)
    score = partial(train_quick.head_scores, exclusive=exclusive)
    oof, final = _train_heads(fit, score, original, corrections, folds, seed, progress)
    scores = _scores(oof, partial(score, final), found, valid_ok, data.categories)
    notes = (
        [] if len(oof) else ["Too few corrections to hold any out; judged on original data only."]
    )
    if warm is not None:
        notes.append("Started from the current model's head (the original data is not available).")
    new_meta = _quick_meta(meta, data, scores, base_path)
    state = train_quick.assemble(meta.arch, body, final)
    return QuickFit(state, new_meta, scores, warm is not None, notes, found.bad)


def _extract(
    data: RetrainData,
    items: Sequence[TrainItem],
    body: nn.Module,
    meta: ModelMeta,
    device: torch.device,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> _Features:
    """Features of the original images (those readable) and of every correction."""
    paths = [i.path for i in items] + data.correction_paths
    feats, bad = train_quick.extract_features(
        paths, body, meta.preprocessing, device, progress=progress, cancel=cancel
    )
    lost = [p for p in data.correction_paths if p in bad]
    if lost:
        raise RetrainError(f"A stored correction image cannot be read: {bad[lost[0]]}")
    return _Features(paths, feats, bad)


def _train_heads(
    fit: Callable[..., nn.Sequential],
    score: Callable[[nn.Sequential, torch.Tensor], torch.Tensor],
    original: tuple[torch.Tensor, torch.Tensor],
    corrections: tuple[torch.Tensor, torch.Tensor],
    folds: int,
    seed: int,
    progress: ProgressCallback,
) -> tuple[np.ndarray, nn.Sequential]:
    """(out-of-fold scores of every correction, none when too few; the final head, taught all)."""
    (x_orig, y_orig), (x_corr, y_corr) = original, corrections
    oof = np.zeros(tuple(y_corr.shape), dtype=np.float32)
    splits = make_folds(len(x_corr), folds, seed)
    # one head per fold plus the final one: a rate and an ETA per head trained
    meter = RateMeter("Training (cross-validation, then the new model)", len(splits) + 1, "heads")
    progress(meter.report(0))
    for number, held in enumerate(splits, start=1):
        taught = [i for i in range(len(x_corr)) if i not in held]
        x = torch.cat([x_orig, x_corr[taught]])
        y = torch.cat([y_orig, y_corr[taught]])
        head = fit(x, y, seed=seed + number)
        oof[held] = score(head, x_corr[held]).numpy()
        progress(meter.report(number))
    final = fit(torch.cat([x_orig, x_corr]), torch.cat([y_orig, y_corr]), seed=seed)
    progress(meter.report(len(splits) + 1))
    return (oof if splits else oof[:0]), final


def _scores(
    oof: np.ndarray,
    final: Callable[[torch.Tensor], torch.Tensor],
    found: _Features,
    valid: list[TrainItem],
    categories: list[str],
) -> CandidateScores:
    """The out-of-fold correction scores, and the final head's (`final`) on the original
    validation."""
    valid_scores = np.zeros((0, len(categories)), dtype=np.float32)
    if valid:
        valid_scores = final(found.of([i.path for i in valid])).numpy()
    targets = _targets(valid, categories).numpy()
    paths = [i.path for i in valid]
    return CandidateScores(list(range(len(oof))), oof, paths, valid_scores, targets)


def _quick_meta(
    base: ModelMeta, data: RetrainData, scores: CandidateScores, base_path: Path
) -> ModelMeta:
    """The new model's metadata: the base's preprocessing and kind, a head for every category."""
    from sorter.core.learning.versions import version_name_of

    categories = list(data.categories)
    choose = th.exclusive_thresholds if base.exclusive else th.choose_thresholds
    if len(scores.valid_scores):
        chosen = choose(scores.valid_scores, scores.valid_targets, categories, 0.5)
    else:
        chosen = dict.fromkeys(categories, 0.5)
    return trained_meta(
        base.arch,
        categories,
        base.preprocessing,  # pad_mode too: the features were computed with it
        exclusive=base.exclusive,
        thresholds=chosen,
        training=training_summary(base, data, "quick", version_name_of(base_path)),
        created_by=f"sorter {__version__}",
        backbone_sha256=base.backbone_sha256 or None,
    )
