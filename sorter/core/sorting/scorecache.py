"""Scores kept in OUT's journal: a resumed or repeated sort never scores an image twice."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sorter.core.files import file_sha256
from sorter.core.jobs import CancelToken, ProgressCallback
from sorter.core.model.decide import Categorizer
from sorter.core.sorting.journal import Journal

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


def score_with_journal(
    journal: Journal | None,
    model: Categorizer,
    images: Sequence[Path],
    *,
    key: str,
    score: ScoreFn,
    batch_size: int | None,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[list[ScoreRecord], int]:
    """Scores for every image: saved ones from the journal, new ones saved as they arrive.

    Returns (records in image order, how many came from the journal).

    Raises:
        Cancelled: `cancel` was triggered; the scores computed so far are saved.
    """
    cached = journal.cached_scores(key, images) if journal else {}
    todo = [p for p in images if p not in cached]
    fresh: dict[Path, ScoreRecord] = {}
    pending: list[tuple[Path, list[float] | None, str | None]] = []
    try:
        for s in score(model, todo, batch_size=batch_size, progress=progress, cancel=cancel):
            scores = [float(v) for v in s.scores] if s.scores is not None else None
            record = ScoreRecord(Path(s.path), scores, s.error)
            fresh[record.path] = record
            pending.append((record.path, record.scores, record.error))
            if journal and len(pending) >= (batch_size or SAVE_EVERY):
                journal.save_scores(key, pending)
                pending = []
    finally:
        if journal and pending:
            journal.save_scores(key, pending)
    if cancel is not None:
        cancel.raise_if_cancelled()
    log.info("Scored %d images, %d scores reused", len(fresh), len(cached))
    return [fresh.get(p) or ScoreRecord(p, *cached[p]) for p in images], len(cached)
