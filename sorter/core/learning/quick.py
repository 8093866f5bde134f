"""Quick retraining: features from the current model's body, computed once; heads train on them."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.learning import groups
from sorter.core.learning.candidate_meta import group_meta, quick_meta
from sorter.core.learning.crossfit import Sets, cross_fit, fold_notes
from sorter.core.learning.data import (
    RetrainData,
    RetrainError,
    original_items,
    split_note,
    targets_for,
)
from sorter.core.learning.evaluate import CandidateScores
from sorter.core.learning.groups import (
    extended_layer,
    final_linear_name,
    is_group_model,
    output_masks,
    pooled,
)
from sorter.core.learning.probe_refit import (
    cross_validated,
    fit_probe_head,
    folded_scores,
    probe_l2,
)
from sorter.core.model.meta import ModelMeta
from sorter.core.model.networks import BODY_FEATURES, FASTAI_CUTS, build_network
from sorter.core.training import quick as train_quick
from sorter.core.training.data import TrainItem
from sorter.core.training.probe import probe_of_head

log = logging.getLogger(__name__)

FOLDS = 5
HEAD_EPOCHS = 40
MIN_STEPS = 200  # optimizer steps a fresh head needs, however few the images
MAX_EPOCHS = 200
BATCH = 32
WARM_EPOCHS = 20  # a head that already knows the old categories needs fewer, gentler epochs
WARM_LR = 1e-3
# How many times each correction counts in a fit, against once for an original or kept image.
# A correction is a photo the current model got wrong, so weighing it more sounds right; on the
# stamps retrain bench (bench/README.md: 30 corrections, 30 draws) 5 left 20 fewer of 6,030
# test images in the wrong folder than 1, better in 14 draws and worse in 11: within noise, so
# every image still counts once. `bench/retrain_loop.py --correction-weight` measures others.
CORRECTION_WEIGHT = 1
FOLDED_NOTE = (
    "The current model learned all {n} of its training images, and so does the new one. To "
    "compare them fairly, each image is scored by versions of both trained without it "
    "({k} rounds)."
)


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
    keeps_base: bool = False  # fine-tuned toward the base's own weights (softmax-groups)

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
        return self.keeps_base or (self.warm and not self.meta.exclusive)


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
    """Cross-validate on the corrections and kept images (`folds` folds), then train the final
    model on all. The new model is of the base model's kind (single- or multi-label) and keeps
    every category of it.
    """
    body, old_head = split_network(meta, state_dict)
    train_items, valid_items = original_items(data, "train"), original_items(data, "valid")
    found = _extract(data, train_items + valid_items, body, meta, device, progress, cancel)
    data.drop_kept({p for p in data.kept_paths if p not in found.index})
    sets = Sets(
        found.of(data.correction_paths), data.correction_targets(),
        found.of(data.kept_paths), data.kept_targets(),
    )  # fmt: skip
    fold_args = (seed, folds, progress, cancel)
    if is_group_model(meta):
        return _group_fit(data, meta, state_dict, sets, base_path, *fold_args)
    return _head_fit(data, meta, (body, old_head), found, sets, base_path, *fold_args)


def _head_fit(
    data: RetrainData,
    meta: ModelMeta,
    network: tuple[nn.Module, nn.Sequential | None],
    found: _Features,
    sets: Sets,
    base_path: Path,
    seed: int,
    folds: int,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> QuickFit:
    """A fastai head: fresh on the original data when there, else warm from the base's head."""
    body, old_head = network
    n_out = len(data.categories)
    # Without the original data the old head is the only memory of categories nobody corrected.
    warm = (
        extended_head(old_head, n_out) if old_head is not None and data.original is None else None
    )
    train_ok = found.readable(original_items(data, "train"))
    valid_ok = found.readable(original_items(data, "valid"))
    exclusive = meta.exclusive
    old_probe = probe_of_head(old_head, exclusive) if old_head is not None else None
    # A model cross-validated on its data learned all of it: so does the new one, and every
    # original image is scored out of fold (thresholds, and the comparison with the current
    # model's recipe) instead of a fifth of them being held out.
    folded = old_probe is not None and bool(valid_ok) and cross_validated(meta)
    if folded:
        train_ok = valid_ok = train_ok + valid_ok  # the split's two parts: every image once
    original = found.of([i.path for i in train_ok]), _targets(train_ok, data.categories)
    if old_probe is not None:  # a probe-trained model: retrained as a probe
        anchor = old_probe if data.original is None else None
        fit_one = partial(
            fit_probe_head, arch=meta.arch, exclusive=exclusive, cancel=cancel, anchor=anchor,
            l2=probe_l2(meta),
        )  # fmt: skip
    else:
        fit_one = partial(fit_head, arch=meta.arch, warm=warm, cancel=cancel, exclusive=exclusive)

    def fit(parts: list[tuple[torch.Tensor, torch.Tensor]], seed: int) -> nn.Sequential:
        parts = weighted(parts)
        x = torch.cat([original[0], *(x for x, _ in parts)])
        return fit_one(x, torch.cat([original[1], *(y for _, y in parts)]), seed=seed)

    def score(head: nn.Sequential, x: torch.Tensor) -> np.ndarray:
        return train_quick.head_scores(head, x, exclusive=exclusive).numpy()

    oof = cross_fit(fit, score, sets, folds, seed, progress)
    if folded:  # the candidate's and the current model's recipe, each without the fold
        rest = weighted([(sets.x_corr, sets.y_corr), (sets.x_kept, sets.y_kept)])
        valid_scores, old_valid = folded_scores(
            fit_one, score, original, rest, exclusive=exclusive, l2=probe_l2(meta),
            folds=folds, seed=seed,
        )  # fmt: skip
    else:
        x_valid = found.of([i.path for i in valid_ok]) if valid_ok else None
        valid_scores = score(oof.final, x_valid) if x_valid is not None else None
    scores = oof.candidate_scores(valid_ok, valid_scores, data.categories)
    scores.learned = score(oof.final, sets.x_corr)
    if folded:
        scores.old_valid = old_valid
    if old_head is not None:
        old = partial(_old_head_scores, old_head, exclusive, n_out)
        scores.old_corrections = old(sets.x_corr[scores.judged])
        scores.old_kept = old(sets.x_kept) if scores.kept is not None else None
    notes = fold_notes(oof)
    if folded:
        notes.append(FOLDED_NOTE.format(n=len(train_ok), k=folds))
    elif data.original is not None:
        notes.append(split_note(data.original))
    if warm is not None:
        notes.append("Started from the current model's head (the original data is not available).")
    new_meta = quick_meta(meta, data, scores, base_path, CORRECTION_WEIGHT)
    state = train_quick.assemble(meta.arch, body, oof.final)
    return QuickFit(state, new_meta, scores, warm is not None, notes, found.bad)


def weighted(parts: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """(corrections, kept images) as a fit takes them: the corrections CORRECTION_WEIGHT times
    over (the same rows repeated, which for a loss averaged over rows is a weight)."""
    corrections, *others = parts
    return [corrections] * CORRECTION_WEIGHT + others


def _old_head_scores(
    head: nn.Sequential, exclusive: bool, n_out: int, x: torch.Tensor
) -> np.ndarray:
    """The base head's scores, with 0 for the categories it lacks (appended last)."""
    return _pad(train_quick.head_scores(head, x, exclusive=exclusive).numpy(), n_out)


def _pad(scores: np.ndarray, n_out: int) -> np.ndarray:
    return np.pad(scores, ((0, 0), (0, n_out - scores.shape[1])))


def _group_fit(
    data: RetrainData,
    meta: ModelMeta,
    state_dict: dict[str, torch.Tensor],
    sets: Sets,
    base_path: Path,
    seed: int,
    folds: int,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> QuickFit:
    """A softmax-groups model: its last Linear fine-tuned (groups.py), every category kept."""
    name = final_linear_name(build_network(meta))
    w0, b0 = state_dict[f"{name}.weight"].float(), state_dict[f"{name}.bias"].float()
    base = extended_layer(w0, b0, meta, data.categories)
    old = groups.GroupLayer(w0, b0, dict(meta.groups or {}), list(meta.categories))
    weights = [1.0, groups.KEPT_WEIGHT]  # corrections, kept images

    def fit(parts: list[tuple[torch.Tensor, torch.Tensor]], seed: int) -> groups.GroupLayer:
        masked = [(pooled(x, meta.arch), output_masks(base, y.numpy()), w)
                  for (x, y), w in zip(parts, weights, strict=True)]  # fmt: skip
        return groups.fit_layer(base, masked, n_old=w0.shape[0], seed=seed, cancel=cancel)

    def score(layer: groups.GroupLayer, x: torch.Tensor) -> np.ndarray:
        return layer.scores(pooled(x, meta.arch))

    with train_quick.one_cpu_thread():  # small matrices: more threads only lose time
        oof = cross_fit(fit, score, sets, folds, seed, progress)
    scores = oof.candidate_scores([], None, data.categories)
    scores.learned = score(oof.final, sets.x_corr)
    n_out = len(data.categories)
    scores.old_corrections = _pad(score(old, sets.x_corr[scores.judged]), n_out)
    if scores.kept is not None:
        scores.old_kept = _pad(score(old, sets.x_kept), n_out)
    state = dict(state_dict)
    state[f"{name}.weight"], state[f"{name}.bias"] = oof.final.weight, oof.final.bias
    new_meta = group_meta(meta, data, oof.final, base_path)
    return QuickFit(state, new_meta, scores, True, fold_notes(oof), {}, keeps_base=True)


def _extract(
    data: RetrainData,
    items: Sequence[TrainItem],
    body: nn.Module,
    meta: ModelMeta,
    device: torch.device,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> _Features:
    """Features of the original images and kept images (those readable) and of every
    correction."""
    paths = [i.path for i in items] + data.correction_paths + data.kept_paths
    feats, bad = train_quick.extract_features(
        paths, body, meta.preprocessing, device, progress=progress, cancel=cancel
    )
    lost = [p for p in data.correction_paths if p in bad]
    if lost:
        raise RetrainError(f"A stored correction image cannot be read: {bad[lost[0]]}")
    return _Features(paths, feats, bad)
