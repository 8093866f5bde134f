"""What a retrain learns from: corrections, kept images of earlier sorts, the original data."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sorter.core.errors import SorterError
from sorter.core.learning.kept import KeptImage, describe_kept, kept_images
from sorter.core.learning.queue import Correction, CorrectionQueue
from sorter.core.model.meta import ModelMeta
from sorter.core.sorting.outputs import known_outputs
from sorter.core.sorting.safecopy import file_sha256
from sorter.core.training.crossval import fold_ids
from sorter.core.training.data import (
    TrainData,
    TrainItem,
    load_training_data,
    split_data,
)

log = logging.getLogger(__name__)


class RetrainError(SorterError):
    """Retraining cannot start or cannot finish (no corrections, unusable model...)."""


@dataclass
class Original:
    """The data the current model was trained on, split as training split it."""

    data: TrainData
    train: list[int]
    valid: list[int]


@dataclass
class RetrainData:
    """Corrections (exported as files) and the original data, in one category order."""

    categories: list[str]  # the base model's, then categories only corrections know
    base_categories: list[str]
    corrections: list[Correction]
    correction_paths: list[Path]
    original: Original | None
    notes: list[str] = field(default_factory=list)
    kept: list[KeptImage] = field(default_factory=list)  # kept images of earlier sorts

    def correction_targets(self) -> np.ndarray:
        return targets_for([c.labels for c in self.corrections], self.categories)

    @property
    def kept_paths(self) -> list[Path]:
        return [k.path for k in self.kept]

    def kept_targets(self) -> np.ndarray:
        return targets_for([list(k.labels) for k in self.kept], self.categories)

    def drop_kept(self, paths: set[Path]) -> None:
        """Forget kept images that could not be read after all."""
        if paths:
            self.kept = [k for k in self.kept if k.path not in paths]
            self.notes.append(f"{len(paths)} kept image(s) could not be read; left out.")

    def original_targets(self, indices: list[int]) -> np.ndarray:
        assert self.original is not None
        items = self.original.data.items
        return targets_for([items[i].labels for i in indices], self.categories)

    @property
    def new_categories(self) -> list[str]:
        known = {label for c in self.corrections for label in c.labels}
        return [c for c in self.categories if c in known and c not in self.base_categories]

    @property
    def pending_ids(self) -> list[int]:
        return [c.id for c in self.corrections if c.used_in_version is None]


def targets_for(
    labels: list[list[str]] | list[tuple[str, ...]], categories: list[str]
) -> np.ndarray:
    """(N, C) 0/1 matrix of labels in category order (unknown labels ignored)."""
    index = {name: i for i, name in enumerate(categories)}
    out = np.zeros((len(labels), len(categories)), dtype=np.float32)
    for row, names in enumerate(labels):
        for name in names:
            if name in index:
                out[row, index[name]] = 1.0
    return out


def new_categories_note(new: list[str], corrections: list[Correction]) -> str:
    """Which categories only corrections name (the new model adds them), with how many each."""
    counts = {name: sum(name in c.labels for c in corrections) for name in new}
    listed = ", ".join(
        f"{name} ({n} correction{'s' if n != 1 else ''})" for name, n in counts.items()
    )
    which, them = ("category", "it") if len(new) == 1 else ("categories", "them")
    return f"New {which}, named only by corrections (the new model adds {them}): {listed}."


def merged_categories(base: list[str], corrections: list[Correction]) -> list[str]:
    """The base model's categories, then new ones in the order corrections first name them."""
    order = list(base)
    for corr in corrections:
        order += [label for label in corr.labels if label not in order]
    return order


def load_original(meta: ModelMeta, notes: list[str]) -> Original | None:
    """The training data named in the model's meta, split as it was; None when it is gone."""
    training = meta.training
    path = training.get("data_path")
    if not path:
        notes.append("The current model's training images are not known here.")
        return None
    if not Path(path).exists():
        notes.append(f"The original training data ({path}) is gone.")
        return None
    try:
        data = load_training_data(Path(path))
        split = split_data(
            data,
            float(training.get("valid_pct", 0.2)),
            int(training.get("seed", 42)),
            training.get("group"),
        )
    except SorterError as exc:
        notes.append(
            f"The original training data ({path}) cannot be used ({exc}); corrections only."
        )
        return None
    notes.append(f"Using the original training data in {path}: {len(data.items)} images.")
    return Original(data, split.train, split.valid)


def split_note(original: Original) -> str:
    """What a retrain that keeps the original data's hold-out says of it."""
    return (
        f"Of the original images, {len(original.train)} are learned and {len(original.valid)} "
        "kept aside to judge the new model."
    )


def drop_corrected(original: Original, corrections: list[Correction]) -> int:
    """Take images that were corrected out of the original data (their label was wrong)."""
    hashes = {c.sha256 for c in corrections}
    bad = set()
    for index, item in enumerate(original.data.items):
        try:
            if file_sha256(item.path) in hashes:
                bad.add(index)
        except OSError:
            bad.add(index)  # gone since the split; training could not read it anyway
    original.train = [i for i in original.train if i not in bad]
    original.valid = [i for i in original.valid if i not in bad]
    return len(bad)


def gather(
    meta: ModelMeta,
    queue: CorrectionQueue,
    workdir: Path,
    use_original: bool = True,
    outputs: Sequence[Path] | None = None,
    seed: int = 42,
) -> RetrainData:
    """Everything a retrain needs; correction images are written into `workdir`.

    Kept images come from `outputs` (default: every output Sorter remembers sorting into).

    Raises:
        RetrainError: the queue holds no pending corrections.
    """
    pending = queue.list()
    if not pending:
        raise RetrainError("There are no corrections waiting; correct some images first.")
    corrections = queue.list(include_used=True)  # earlier corrections still teach the new model
    files = queue.export_images(workdir, corrections)
    notes: list[str] = []
    original = load_original(meta, notes) if use_original else None
    if original is not None:
        dropped = drop_corrected(original, corrections)
        if dropped:
            notes.append(
                f"{dropped} original image(s) were corrected since; their old label is dropped."
            )
    base = list(meta.categories)
    outputs = known_outputs() if outputs is None else outputs
    kept = kept_images(outputs, base, {c.sha256 for c in corrections}, seed=seed)
    if kept:
        notes.append(describe_kept(kept))
    data = RetrainData(
        merged_categories(base, corrections),
        base,
        corrections,
        [files[c.id] for c in corrections],
        original,
        notes,
        kept,
    )
    new = data.new_categories
    if new:
        data.notes.append(new_categories_note(new, corrections))
    return data


def folds(targets: np.ndarray, k: int, seed: int) -> list[list[int]]:
    """k seeded folds of the rows of `targets` (N, C) for cross-validation, stratified like
    training's (crossval.fold_ids: each category spread over the folds); k is capped at N,
    and there are none when N < 2."""
    n = len(targets)
    if n < 2:
        return []
    k = max(2, min(k, n))
    ids = fold_ids(targets, k, seed)
    return [np.flatnonzero(ids == fold).tolist() for fold in range(k)]


def unseen_categories(data: RetrainData, held: set[int]) -> list[str]:
    """Base categories with no positive example among the images a candidate learns from."""
    seen = {label for item in original_items(data, "train") for label in item.labels}
    seen |= {lab for i, c in enumerate(data.corrections) if i not in held for lab in c.labels}
    seen |= {label for k in data.kept for label in k.labels}
    return [c for c in data.base_categories if c not in seen]


def original_items(data: RetrainData, which: str) -> list[TrainItem]:
    if data.original is None:
        return []
    indices = data.original.train if which == "train" else data.original.valid
    return [data.original.data.items[i] for i in indices]


def training_summary(
    base: ModelMeta, data: RetrainData, mode: str, base_version: str
) -> dict[str, Any]:
    """The `training` meta of a retrained model; names the original data for the next retrain."""
    old = base.training
    counts = {c: 0 for c in data.categories}
    items = data.original.data.items if data.original else []
    kept = [list(k.labels) for k in data.kept]
    for labels in [i.labels for i in items] + [c.labels for c in data.corrections] + kept:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        # kept so the next retrain finds, and splits the same way, the original data
        "data_path": old.get("data_path"),
        "valid_pct": old.get("valid_pct", 0.2),
        "seed": old.get("seed", 42),
        "group": old.get("group"),
        "image_counts": counts,
        "images": len(items) + len(data.corrections) + len(data.kept),
        "corrections": len(data.corrections),
        "kept_images": len(data.kept),
        "mode": f"retrain-{mode}",
        "retrained_from": base_version,
        "arch": base.arch,
    }
