"""Scores kept in OUT's journal: a resumed or repeated sort never scores an image twice."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sorter.core.files import file_sha256, file_stamp
from sorter.core.jobs import CancelToken, ProgressCallback
from sorter.core.model.decide import Categorizer
from sorter.core.sorting.journal import Journal, has_journal

log = logging.getLogger(__name__)

# New scores are written to the journal in groups of the batch size, or of this many when the
# scorer picks its own batch size.
SAVE_EVERY = 32
# score(model, paths, *, batch_size, progress, cancel) -> objects with path, scores, error
ScoreFn = Callable[..., Iterator[Any]]


@dataclass
class ScoreRecord:
    """One image's scores in category order, or why it could not be scored."""

    path: Path
    scores: list[float] | None
    error: str | None


def default_score() -> ScoreFn:
    from sorter.core.model.predict import score_images

    return score_images


def model_key(model: object) -> str:
    """What cached scores are keyed on: the model file's content hash (its path if unreadable)."""
    path = getattr(model, "path", None)
    if path is None:
        return f"memory:{id(model)}"
    try:
        return file_sha256(path)
    except OSError:
        return f"path:{path}"


@dataclass(frozen=True)
class ScoreJob:
    """How a sort or a preview scores its images: the model's cache key and the scorer's run."""

    key: str
    score: ScoreFn
    batch_size: int | None
    progress: ProgressCallback
    cancel: CancelToken | None


def score_job(
    model: object,
    score: ScoreFn | None,
    batch_size: int | None,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> ScoreJob:
    """The model's cache key with `score` (default: predict.score_images) and how it runs."""
    return ScoreJob(model_key(model), score or default_score(), batch_size, progress, cancel)


def score_with_journal(
    journal: Journal | None, model: Categorizer, images: Sequence[Path], job: ScoreJob
) -> tuple[list[ScoreRecord], int]:
    """Scores for every image: saved ones from the journal, new ones saved as they arrive.

    Returns (records in image order, how many came from the journal).

    Raises:
        Cancelled: `cancel` was triggered; the scores computed so far are saved.
    """
    cached = journal.cached_scores(job.key, images) if journal else {}
    save = partial(journal.save_scores, job.key) if journal else None
    return _score_rest(model, images, cached, save, job), len(cached)


@dataclass
class PreviewScores:
    """Scores computed for a look before sorting, to be saved into OUT's journal on applying."""

    key: str
    records: list[ScoreRecord]  # in image order
    reused: int  # how many came from OUT's journal
    stamps: dict[Path, tuple[int, int] | None]  # each file's (size, mtime) before it was scored

    def save_into(self, journal: Journal) -> int:
        """Keep these scores in OUT's journal (not those of files changed since); returns how
        many were saved."""
        rows = [(r.path, r.scores, r.error) for r in self.records if self._unchanged(r.path)]
        if rows:
            journal.save_scores(self.key, rows)
        return len(rows)

    def _unchanged(self, path: Path) -> bool:
        stamp = self.stamps.get(path)
        return stamp is not None and file_stamp(path) == stamp


def score_preview(out: Path, model: Any, images: Sequence[Path], job: ScoreJob) -> PreviewScores:
    """Scores for a preview or a dry run, writing nothing: OUT's journal is read only when OUT
    already has one, and the new scores wait in the result until the sort is applied.

    Raises:
        Cancelled: `cancel` was triggered.
    """
    cached = read_saved_scores(out, job.key, images)
    stamps = {path: file_stamp(path) for path in images}
    records = _score_rest(model, images, cached, None, job)
    return PreviewScores(job.key, records, len(cached), stamps)


def read_saved_scores(
    out: Path, key: str, images: Sequence[Path]
) -> dict[Path, tuple[list[float] | None, str | None]]:
    """The scores OUT's journal holds for these images; creates nothing when it has none."""
    if not has_journal(out):
        return {}
    with Journal(out) as journal:
        return journal.cached_scores(key, images)


def _score_rest(
    model: Any,
    images: Sequence[Path],
    cached: dict[Path, tuple[list[float] | None, str | None]],
    save: Callable[[list], None] | None,
    job: ScoreJob,
) -> list[ScoreRecord]:
    todo = [p for p in images if p not in cached]
    fresh: dict[Path, ScoreRecord] = {}
    pending: list[tuple[Path, list[float] | None, str | None]] = []
    run = dict(batch_size=job.batch_size, progress=job.progress, cancel=job.cancel)
    try:
        for s in job.score(model, todo, **run):
            scores = [float(v) for v in s.scores] if s.scores is not None else None
            record = ScoreRecord(Path(s.path), scores, s.error)
            fresh[record.path] = record
            pending.append((record.path, record.scores, record.error))
            if save and len(pending) >= (job.batch_size or SAVE_EVERY):
                save(pending)
                pending = []
    finally:
        if save and pending:
            save(pending)
    if job.cancel is not None:
        job.cancel.raise_if_cancelled()
    log.info("Scored %d images, %d scores reused", len(fresh), len(cached))
    return [fresh.get(p) or ScoreRecord(p, *cached[p]) for p in images]
