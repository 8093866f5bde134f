"""Retrain from the correction queue: train a candidate, compare it with the current, promote."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sorter import appdirs
from sorter.core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from sorter.core.learning import evaluate as ev
from sorter.core.learning import verdict
from sorter.core.learning.data import (
    RetrainData,
    RetrainError,
    gather,
    unseen_categories,
)
from sorter.core.learning.modes import RETRAIN_MODES, RetrainFit, RetrainJob
from sorter.core.learning.queue import CorrectionQueue
from sorter.core.model.meta import ModelMeta

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

__all__ = ["Candidate", "RetrainError", "RetrainResult", "prepare", "promote", "retrain"]


@dataclass
class Candidate:
    """A trained but not yet stored model, with its side-by-side evaluation."""

    meta: ModelMeta
    state_dict: dict[str, torch.Tensor]
    base_path: Path
    base_version: str
    comparisons: list[ev.Comparison]
    better: bool  # not worse on every evaluation set
    reason: str
    used_ids: list[int]  # pending corrections the candidate learned from
    new_categories: list[str]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def table(self) -> list[str]:
        return verdict.table(self.comparisons)

    def report(self) -> dict[str, Any]:
        return {
            "base_model": str(self.base_path),
            "base_version": self.base_version,
            "categories": list(self.meta.categories),
            "new_categories": list(self.new_categories),
            "corrections_used": len(self.used_ids),
            "comparisons": [c.to_dict() for c in self.comparisons],
            "not_worse": self.better,
            "reason": self.reason,
            "notes": list(self.notes),
            "seconds": round(self.seconds, 1),
        }


@dataclass
class RetrainResult:
    """What `sorter retrain` did; `current_model` is the model file in use afterwards."""

    candidate: Candidate
    promoted: bool
    version: str | None  # the new version's name when promoted
    current_model: Path
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.candidate.report(),
            "promoted": self.promoted,
            "version": self.version,
            "message": self.message,
            "table": self.candidate.table(),
            "current_model": str(self.current_model),
        }


def prepare(
    model_path: str | Path | None = None,
    mode: str = "quick",
    *,
    queue: CorrectionQueue | None = None,
    device: str = "auto",
    seed: int = 42,
    folds: int | None = None,
    outputs: Sequence[Path] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> Candidate:
    """Train a candidate from the queue, the kept images of earlier sorts (in `outputs`;
    default: every output Sorter remembers) and the original data when there; evaluate it.

    Nothing is stored: the caller shows the table, then calls promote() (or not).

    Raises:
        RetrainError: no corrections are waiting, or they cannot be used.
        ModelFileError: the base model cannot be read.
        Cancelled: `cancel` was triggered.
    """
    from sorter.core.learning.versions import finish_interrupted, read_model
    from sorter.core.model.modelfile import current_model_path, pick_device

    fitter = RETRAIN_MODES.get(mode)
    started = time.perf_counter()
    queue = queue or CorrectionQueue()
    finish_interrupted(queue)  # a killed promotion's corrections must not be learned twice
    base_path = Path(model_path) if model_path is not None else current_model_path()
    meta, state_dict = read_model(base_path)
    torch_device = pick_device(device)
    with tempfile.TemporaryDirectory(prefix="retrain-", dir=appdirs.cache_dir()) as tmp:
        data = gather(meta, queue, Path(tmp), outputs=outputs, seed=seed)
        job = RetrainJob(data, meta, state_dict, base_path, Path(tmp), torch_device, seed, folds)
        fit = fitter.fit(job, progress=progress, cancel=cancel)
        if cancel is not None:
            cancel.raise_if_cancelled()
        comparisons = _compare(base_path, torch_device, data, fit.scores, fit.meta, progress)
    return _candidate(job, fit, comparisons, time.perf_counter() - started)


def _candidate(
    job: RetrainJob, fit: RetrainFit, comparisons: list[ev.Comparison], seconds: float
) -> Candidate:
    """The candidate: the fit, its comparisons and the verdict on them."""
    from sorter.core.learning.versions import version_name_of

    data = job.data
    forgotten = [] if fit.remembers_base else unseen_categories(data, set(fit.untaught))
    better, reason = verdict.verdict(comparisons, forgotten)
    new_meta = fit.meta.replace(training={**fit.meta.training, "metrics": _headline(comparisons)})
    used = [
        c.id
        for i, c in enumerate(data.corrections)
        if c.used_in_version is None and i not in fit.untaught
    ]
    return Candidate(
        meta=new_meta,
        state_dict=fit.state_dict,
        base_path=job.base_path,
        base_version=version_name_of(job.base_path),
        comparisons=comparisons,
        better=better,
        reason=reason,
        used_ids=used,
        new_categories=data.new_categories,
        notes=[*data.notes, *fit.notes],
        seconds=seconds,
    )


def _old_scores(
    base_path: Path, device: torch.device, paths: Sequence[Path], categories: list[str]
) -> np.ndarray:
    """The base model's scores, in the new category order (0 for categories it lacks)."""
    from sorter.core.model.modelfile import load_model
    from sorter.core.model.predict import score_images

    out = np.zeros((len(paths), len(categories)), dtype=np.float32)
    if not paths:
        return out
    model = load_model(base_path, device=device.type)
    column = {c: categories.index(c) for c in model.categories if c in categories}
    for row, scored in enumerate(score_images(model, list(paths))):
        if scored.scores is None:
            continue  # an unreadable image scores nothing: a fair loss for the old model
        for name, value in zip(model.categories, scored.scores, strict=True):
            if name in column:
                out[row, column[name]] = value
    return out


def _old_rule(base_path: Path, categories: list[str]) -> tuple[dict[str, float], bool, int | None]:
    """The base model's thresholds (of `categories`), kind and most folders per image: how it
    decides."""
    from sorter.core.learning.versions import read_model

    meta, _ = read_model(base_path)
    thresholds = {c: t for c, t in meta.category_thresholds().items() if c in categories}
    return thresholds, meta.exclusive, meta.max_labels


def _compare(
    base_path: Path,
    device: torch.device,
    data: RetrainData,
    scores: ev.CandidateScores,
    new_meta: ModelMeta,
    progress: ProgressCallback,
) -> list[ev.Comparison]:
    """Old and new side by side: on the corrections (role LEARN), the kept images and the
    original validation (role KEEP), each image scored by a candidate not trained on it."""
    progress(Progress("Comparing old and new", 0, 3, "sets"))
    cats = data.categories
    (old_th, old_exclusive, old_cap), new_th = _old_rule(base_path, cats), new_meta.thresholds
    judge = partial(
        ev.compare, categories=cats, old_thresholds=old_th, new_thresholds=new_th,
        old_exclusive=old_exclusive, new_exclusive=new_meta.exclusive,
        old_max_labels=old_cap, new_max_labels=new_meta.max_labels,
    )  # fmt: skip
    old_scores = partial(_old_scores, base_path, device, categories=cats)
    held = scores.judged
    old = scores.old_corrections
    if old is None:
        old = old_scores([data.correction_paths[i] for i in held])
    targets = data.correction_targets()[held]
    note = "cross-validated" if len(held) == len(data.corrections) else "held out"
    name = "held-out corrections"
    learned = scores.learned[held] if scores.learned is not None else None
    comps = [judge(name, old, scores.corrections, targets, note=note, role=ev.LEARN,
                   learned=learned)]  # fmt: skip
    progress(Progress("Comparing old and new", 1, 3, "sets"))
    if scores.kept is not None:
        old = scores.old_kept if scores.old_kept is not None else old_scores(data.kept_paths)
        kept = judge("kept images", old, scores.kept, data.kept_targets(), note="out-of-fold",
                     presumed_wrong=ev.KEPT_PRESUMED_WRONG)  # fmt: skip
        comps.append(kept)
    progress(Progress("Comparing old and new", 2, 3, "sets"))
    if data.original is not None:
        new, targets = scores.valid_scores, scores.valid_targets
        old = scores.old_valid if scores.old_valid is not None else old_scores(scores.valid_paths)
        comps.append(judge("original validation", old, new, targets))
    progress(Progress("Comparing old and new", 3, 3, "sets"))
    return comps


def _headline(comparisons: Sequence[ev.Comparison]) -> dict[str, Any]:
    """The new model's figures for `models list`: the original validation set when there."""
    measured = [c for c in comparisons if c.images]
    if not measured:
        return {}
    main = measured[-1]
    return {**main.new.to_dict(), "evaluated_on": main.name, "images": main.images}


def promote(candidate: Candidate, queue: CorrectionQueue | None = None) -> str:
    """Store the candidate as a new version, make it current, mark its corrections used."""
    from sorter.core.learning.versions import promote_version, title_of

    note = (
        f"retrained from {candidate.base_version} with {len(candidate.used_ids)} new correction(s)"
    )
    version = promote_version(
        candidate.meta, candidate.state_dict, candidate.report(), note,
        candidate.used_ids, queue or CorrectionQueue(), title=title_of(candidate.base_path),
    )  # fmt: skip
    log.info("Promoted %s: %s", version.name, candidate.reason)
    return version.name


def retrain(
    model_path: str | Path | None = None,
    mode: str = "quick",
    *,
    force: bool = False,
    queue: CorrectionQueue | None = None,
    device: str = "auto",
    seed: int = 42,
    folds: int | None = None,
    outputs: Sequence[Path] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> RetrainResult:
    """prepare(), then promote() when the candidate is not worse (or when `force`)."""
    from sorter.core.model.modelfile import current_model_path

    queue = queue or CorrectionQueue()
    candidate = prepare(
        model_path, mode, queue=queue, device=device, seed=seed, folds=folds, outputs=outputs,
        progress=progress, cancel=cancel,
    )  # fmt: skip
    if candidate.better or force:
        version = promote(candidate, queue)
        why = (
            candidate.reason
            if candidate.better
            else f"promoted as asked, although {candidate.reason}"
        )
        message = f"Promoted {version}: {why}."
    else:
        version = None
        message = f"Kept the current model ({candidate.base_version}): {candidate.reason}."
    return RetrainResult(candidate, version is not None, version, current_model_path(), message)
