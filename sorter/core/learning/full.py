"""Full retraining: fastai fine-tuning (the training module's) on original data plus corrections."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.learning.data import (
    RetrainData,
    original_items,
    split_note,
    targets_for,
    training_summary,
)
from sorter.core.learning.evaluate import CandidateScores
from sorter.core.model.meta import ModelMeta
from sorter.core.training.data import TrainData, from_items
from sorter.core.training.options import TrainOptions

if TYPE_CHECKING:
    from sorter.core.model.modelfile import LoadedModel

log = logging.getLogger(__name__)

HOLDOUT = 0.2  # full training is too slow to cross-validate: one seeded hold-out instead
MIN_FOR_HOLDOUT = 5


def holdout(n: int, seed: int) -> list[int]:
    """Indices of corrections kept out of training to judge the new model (none when few)."""
    if n < MIN_FOR_HOLDOUT:
        return []
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return sorted(order[: max(1, round(HOLDOUT * n))])


def _scores(model: LoadedModel, paths: Sequence[Path], categories: list[str]) -> np.ndarray:
    """A loaded model's scores in `categories` order (0 where it has no such category)."""
    from sorter.core.model.predict import score_images

    out = np.zeros((len(paths), len(categories)), dtype=np.float32)
    column = {c: categories.index(c) for c in model.categories if c in categories}
    for row, scored in enumerate(score_images(model, list(paths))):
        for name, value in zip(model.categories, scored.scores or [], strict=False):
            if name in column:
                out[row, column[name]] = value
    return out


@dataclass
class FullFit:
    """Full mode's candidate: a network fine-tuned anew by the training module's full mode.

    Some corrections are held out of its training to judge it; they stay queued.
    """

    state_dict: dict[str, Any]
    meta: ModelMeta
    scores: CandidateScores  # the held-out corrections (scores.judged) and original validation
    notes: list[str] = field(default_factory=list)

    @property
    def untaught(self) -> frozenset[int]:
        return frozenset(self.scores.judged)

    @property
    def remembers_base(self) -> bool:
        return False  # trained afresh: only what its images show, nothing of the base's head


def full_fit(
    data: RetrainData,
    meta: ModelMeta,
    workdir: Path,
    device: torch.device,
    base_version: str,
    *,
    seed: int = 42,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> FullFit:
    """Train with the training module's full mode, then score what judges the new model.

    Held-out corrections are not learned from; they stay pending for the next retrain.
    """
    from sorter.core.model.modelfile import load_model, read_model_file
    from sorter.core.training.train import train

    held = holdout(len(data.corrections), seed)
    out = workdir / "candidate.pth"
    options = _options(meta, seed, device)
    train(_train_data(data, held, workdir), out, options, progress=progress, cancel=cancel)
    trained_meta, state_dict = read_model_file(out)
    scores = _candidate_scores(load_model(out, device=device.type), data, held)
    summary = training_summary(meta, data, "full", base_version)
    fit = FullFit(state_dict, _full_meta(trained_meta, summary), scores)
    if data.original is not None:
        fit.notes.append(split_note(data.original))
    if held:
        fit.notes.append(
            f"{len(held)} correction(s) held out to judge the new model; still queued."
        )
    return fit


def _full_meta(trained: ModelMeta, summary: dict[str, Any]) -> ModelMeta:
    """The candidate's metadata: as `train` wrote it, its training summary that of a retrain."""
    return trained.replace(training={**trained.training, **summary})


def _train_data(data: RetrainData, held: list[int], workdir: Path) -> TrainData:
    """The original training images plus the corrections not held out."""
    taught = [i for i in range(len(data.corrections)) if i not in held]
    pairs = [(i.path, i.labels) for i in original_items(data, "train")]
    pairs += [(data.correction_paths[i], data.corrections[i].labels) for i in taught]
    pairs += [(k.path, list(k.labels)) for k in data.kept]  # learned from, not judged on
    source = data.original.data.source if data.original else workdir
    return from_items(pairs, source, categories=data.categories)


def _options(meta: ModelMeta, seed: int, device: torch.device) -> TrainOptions:
    """Full training's options for a candidate of the base model's arch, size and kind."""
    return TrainOptions(
        mode="full",
        arch=meta.arch,
        input_size=meta.input_size,
        seed=seed,
        device=device.type,
        labels="single" if meta.exclusive else "multi",
    )


def _candidate_scores(model: LoadedModel, data: RetrainData, held: list[int]) -> CandidateScores:
    valid = original_items(data, "valid")
    held_paths = [data.correction_paths[i] for i in held]
    return CandidateScores(
        judged=held,
        corrections=_scores(model, held_paths, data.categories),
        valid_paths=[i.path for i in valid],
        valid_scores=_scores(model, [i.path for i in valid], data.categories),
        valid_targets=targets_for([i.labels for i in valid], data.categories),
    )
