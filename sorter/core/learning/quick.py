"""Quick retraining: features from the current model's body, computed once; heads train on them."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress
from sorter.core.learning.data import (
    RetrainData,
    RetrainError,
    original_items,
    targets_for,
)
from sorter.core.learning.data import folds as make_folds
from sorter.core.model.meta import ModelMeta
from sorter.core.model.networks import BODY_FEATURES, FASTAI_CUTS, build_network
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
    """The new network's weights and the scores it gives the evaluation images."""

    state_dict: dict[str, torch.Tensor]
    correction_scores: np.ndarray  # out-of-fold: each correction scored by a head not taught it
    valid_scores: np.ndarray  # the final model on the original validation images
    valid_targets: np.ndarray
    valid_paths: list[Path]
    notes: list[str] = field(default_factory=list)
    skipped: dict[Path, str] = field(default_factory=dict)


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


def _warm_fit(
    head: nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    seed: int,
    cancel: CancelToken | None,
) -> nn.Sequential:
    """Fine-tune a copy of a trained head gently on new examples (AdamW, fixed epochs)."""
    torch.manual_seed(seed)
    head = copy.deepcopy(head)
    trainable = head[2:]
    optimizer = torch.optim.AdamW(trainable.parameters(), lr=WARM_LR, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(WARM_EPOCHS):
        trainable.train()
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 32):
            if cancel is not None:
                cancel.raise_if_cancelled()
            batch = order[start : start + 32]
            if len(batch) < 2:  # BatchNorm cannot train on one row
                continue
            loss = nn.functional.binary_cross_entropy_with_logits(trainable(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    head.eval()
    return head


def fit_head(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    arch: str,
    warm: nn.Sequential | None,
    seed: int,
    cancel: CancelToken | None,
) -> nn.Sequential:
    """A head trained on features: fine-tuned from `warm` when given, else fresh (fastai's)."""
    if warm is not None:
        return _warm_fit(warm, x, y, seed, cancel)
    empty = x[:0]
    steps_per_epoch = max(1, -(-len(x) // BATCH))
    # a few corrections make one batch per epoch: train long enough to learn them anyway
    epochs = max(HEAD_EPOCHS, min(MAX_EPOCHS, -(-MIN_STEPS // steps_per_epoch)))
    result = train_quick.train_head(
        x, y, empty, y[:0],
        n_features=BODY_FEATURES[arch],
        settings=train_quick.HeadSettings(epochs=epochs, batch_size=BATCH),
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
    *,
    seed: int = 42,
    folds: int = FOLDS,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> QuickFit:
    """Cross-validate on the corrections (`folds` folds), then train the final head on all."""
    body, old_head = split_network(meta, state_dict)
    n_out = len(data.categories)
    # Without the original data the old head is the only memory of categories nobody corrected.
    warm = (
        extended_head(old_head, n_out) if old_head is not None and data.original is None else None
    )
    train_items = original_items(data, "train")
    valid_items = original_items(data, "valid")
    paths = [i.path for i in train_items] + [i.path for i in valid_items] + data.correction_paths
    feats, bad = train_quick.extract_features(
        paths, body, meta.preprocessing, device, progress=progress, cancel=cancel
    )
    found = _Features(paths, feats, bad)
    lost = [p for p in data.correction_paths if p in bad]
    if lost:
        raise RetrainError(f"A stored correction image cannot be read: {bad[lost[0]]}")
    train_ok, valid_ok = found.readable(train_items), found.readable(valid_items)
    x_orig, y_orig = found.of([i.path for i in train_ok]), _targets(train_ok, data.categories)
    x_corr = found.of(data.correction_paths)
    y_corr = torch.from_numpy(data.correction_targets())
    oof = np.zeros((len(data.corrections), n_out), dtype=np.float32)
    splits = make_folds(len(data.corrections), folds, seed)
    # one head per fold plus the final one: a rate and an ETA per head trained
    meter = RateMeter("Training (cross-validation, then the new model)", len(splits) + 1, "heads")
    progress(meter.report(0))
    for number, held in enumerate(splits, start=1):
        taught = [i for i in range(len(data.corrections)) if i not in held]
        x = torch.cat([x_orig, x_corr[taught]])
        y = torch.cat([y_orig, y_corr[taught]])
        head = fit_head(x, y, arch=meta.arch, warm=warm, seed=seed + number, cancel=cancel)
        oof[held] = train_quick.head_scores(head, x_corr[held]).numpy()
        progress(meter.report(number))
    final = fit_head(
        torch.cat([x_orig, x_corr]), torch.cat([y_orig, y_corr]),
        arch=meta.arch, warm=warm, seed=seed, cancel=cancel,
    )  # fmt: skip
    progress(meter.report(len(splits) + 1))
    valid_scores = np.zeros((0, n_out), dtype=np.float32)
    if valid_ok:
        valid_scores = train_quick.head_scores(final, found.of([i.path for i in valid_ok])).numpy()
    notes = [] if splits else ["Too few corrections to hold any out; judged on original data only."]
    if warm is not None:
        notes.append("Started from the current model's head (the original data is not available).")
    return QuickFit(
        state_dict=train_quick.assemble(meta.arch, body, final),
        correction_scores=oof if splits else np.zeros((0, n_out), dtype=np.float32),
        valid_scores=valid_scores,
        valid_targets=_targets(valid_ok, data.categories).numpy(),
        valid_paths=[i.path for i in valid_ok],
        notes=notes,
        skipped=bad,
    )
