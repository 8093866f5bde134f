"""Sort a folder: scan -> score (journaled) -> plan (pure) -> apply -> report."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.model.decide import UNCERTAIN, Categorizer, is_exclusive, label_cap
from sorter.core.sorting import places
from sorter.core.sorting.apply import MODES, apply_plan
from sorter.core.sorting.journal import Journal, make_folder
from sorter.core.sorting.outputlock import OutputLock
from sorter.core.sorting.plan import (
    PlanItem,
    SortPlan,
    model_file,
    plan_outcome,
    plan_sort,
    resolve_thresholds,
)
from sorter.core.sorting.report import PLANNED, SKIPPED, ImageOutcome, SortSummary
from sorter.core.sorting.report import count_outcomes as _count
from sorter.core.sorting.scan import ScanResult, check_paths, scan
from sorter.core.sorting.scorecache import (
    PreviewScores,
    ScoreFn,
    ScoreRecord,
    score_job,
    score_preview,
    score_with_journal,
)

log = logging.getLogger(__name__)

__all__ = [
    "PlanItem",
    "ScanResult",
    "SortPlan",
    "SortSummary",
    "apply_plan",
    "apply_previewed",
    "default_out",
    "plan_sort",
    "scan",
    "sort_folder",
]


def default_out(src: str | os.PathLike[str]) -> Path:
    """The default output folder: "<SRC name> (sorted)" beside SRC; for a drive, share or card,
    which has no folder beside it, "<Pictures>/Sorted from <D, share or card name>"."""
    return places.default_out(Path(src).expanduser().resolve())


def _device_label(model: Categorizer) -> str:
    try:
        from sorter.core.model.modelfile import device_label

        return device_label(model.device)
    except (ImportError, AttributeError, TypeError):
        return str(getattr(model, "device", ""))


def job_signature(
    src: Path, out: Path, mode: str, key: str, threshold: float | None, thresholds: Mapping | None
) -> str:
    """Identifies "the same command": an unfinished run with it is resumed, not restarted."""
    data = ["job", str(src.resolve()), str(out.resolve()), mode, key, threshold, thresholds]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def sort_folder(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    model: Categorizer,
    default_threshold: float | None = None,
    thresholds: Mapping[str, float] | None = None,
    dry_run: bool = False,
    mode: str = "copy",
    batch_size: int | None = None,
    score: ScoreFn | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SortSummary:
    """Sort SRC into OUT with a loaded model; the same command after a crash finishes the job.

    `score(model, paths, *, batch_size, progress, cancel)` yields objects with path, scores and
    error (default: predict.score_images). Scores go into OUT's journal as they arrive, so a
    resumed run only scores what is left; once planned, a run's plan is kept in the journal and
    an interrupted run is finished from it (even in move mode, where sources disappear).

    Raises:
        BadPathError, LockedError, OutOfSpaceError (SorterError): the run cannot go on.
        Cancelled: `cancel` was triggered; every copy made so far is complete.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    started = time.perf_counter()
    out_path = _absolute(out) if out is not None else default_out(src)
    check_paths(src, out_path)
    job = score_job(model, score, batch_size, progress, cancel)
    if dry_run:  # a preview, as the window's: saved scores are read, nothing is written
        found = scan(src, out_path)
        scores = score_preview(out_path, model, found.images, job)
        plan = _plan(found, out_path, scores.records, model, default_threshold, thresholds)
        summary = dry_run_summary(plan, _device_label(model), started)
        summary.scores_reused = scores.reused
        return summary
    signature = job_signature(Path(src), out_path, mode, job.key, default_threshold, thresholds)
    with locked_journal(out_path) as journal:
        run_id = journal.find_unfinished(signature)
        if run_id is not None:  # the same command was interrupted: finish its recorded plan
            plan, reused = stored_plan(journal, run_id, out_path)
        else:
            found = scan(src, out_path)
            scored, reused = score_with_journal(journal, model, found.images, job)
            plan = _plan(found, out_path, scored, model, default_threshold, thresholds)
        summary = apply_plan(plan, mode=mode, journal=journal, signature=signature,
                             progress=progress, cancel=cancel)  # fmt: skip
    summary.scores_reused = reused
    summary.device = _device_label(model)
    _finish_timing(summary, started)
    return summary


def apply_previewed(
    plan: SortPlan,
    scores: PreviewScores,
    *,
    mode: str = "copy",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SortSummary:
    """Apply a plan made from a preview's scores (the window's copy step); the scores are saved
    into OUT's journal first, so a later sort or preview of these images reuses them.

    Raises:
        LockedError, OutOfSpaceError, BadPathError (SorterError); Cancelled, as sort_folder.
    """
    with locked_journal(plan.out) as journal:
        scores.save_into(journal)
        summary = apply_plan(plan, mode=mode, journal=journal, progress=progress, cancel=cancel)
    summary.scores_reused = scores.reused
    return summary


@contextmanager
def locked_journal(out: Path) -> Iterator[Journal]:
    """OUT (created if needed) locked for this run, and its journal open."""
    make_folder(out)
    with OutputLock(out), Journal(out) as journal:
        yield journal


def _absolute(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def stored_plan(journal: Journal, run_id: int, out: Path) -> tuple[SortPlan, int]:
    """The plan an unfinished run recorded, rebuilt from the journal: (plan, images in it)."""
    info, rows, skipped = journal.load_plan(run_id)
    src = next(r.src for r in journal.runs() if r.id == run_id)
    items = [
        PlanItem(Path(source), scores, error, categories, folders)
        for source, folders, error, categories, scores in rows
    ]
    plan = SortPlan(
        Path(src), out, info.get("categories", []), info.get("folder_names", {}), items,
        [(Path(p), reason) for p, reason in skipped], info.get("model_file"),
    )  # fmt: skip
    return plan, len(items)


def _plan(
    found: ScanResult,
    out: Path,
    scored: Sequence[ScoreRecord],
    model: Categorizer,
    default_threshold: float | None,
    thresholds: Mapping[str, float] | None,
) -> SortPlan:
    th = resolve_thresholds(model, default_threshold, thresholds)
    return plan_sort(
        found.src, out, scored, model.categories, th.default, th.own, model.empty_category,
        exclusive=is_exclusive(model), max_labels=label_cap(model), skipped=found.skipped,
        model_file=model_file(model),
    )  # fmt: skip


def _finish_timing(summary: SortSummary, started: float) -> None:
    summary.seconds = round(time.perf_counter() - started, 3)
    if summary.seconds > 0 and summary.images:
        summary.images_per_s = round(summary.images / summary.seconds, 2)


def dry_run_summary(plan: SortPlan, device: str, started: float) -> SortSummary:
    """The summary of a plan without applying it (nothing is written)."""
    summary = SortSummary(src=plan.src, out=plan.out, dry_run=True, device=device)
    summary.images = len(plan.items)
    summary.outcomes = [plan_outcome(plan, item, PLANNED) for item in plan.items]
    summary.outcomes += [
        ImageOutcome(path, [], [], [], SKIPPED, reason) for path, reason in plan.skipped
    ]
    _count(summary, UNCERTAIN)
    _finish_timing(summary, started)
    return summary
