"""Re-sort an earlier output with a better model: score its images again, diff, then fix OUT."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sorter.core.errors import BadPathError, SorterError
from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress
from sorter.core.model.decide import UNREADABLE, is_exclusive, label_cap
from sorter.core.sorting.journal import DONE, UNDONE, Journal, has_journal
from sorter.core.sorting.leftovers import clean_leftovers
from sorter.core.sorting.outputlock import OutputLock
from sorter.core.sorting.plan import PlanItem
from sorter.core.sorting.relabel import RelabelResult, note_in_report, relabel

log = logging.getLogger(__name__)


@dataclass
class Recorded:
    """One photo an earlier run sorted into OUT, and where its copies are now."""

    source: Path
    folders: set[str] = field(default_factory=set)
    copies: list[Path] = field(default_factory=list)

    @property
    def readable(self) -> Path | None:
        """The file to score: the source, else one of its copies (after a move run)."""
        if self.source.is_file():
            return self.source
        return next((c for c in self.copies if c.is_file()), None)


@dataclass
class ResortChange:
    """An image whose folders differ under the new model."""

    source: Path
    old_folders: list[str]
    new_folders: list[str]
    categories: list[str]  # decided categories; empty means uncertain

    def describe(self) -> str:
        old = ", ".join(self.old_folders) or "-"
        return f"{self.source.name}: {old} -> {', '.join(self.new_folders)}"


@dataclass
class ResortPlan:
    """What re-sorting would change; nothing is written until apply_resort()."""

    out: Path
    model_path: Path | None
    categories: list[str]
    changes: list[ResortChange] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    scored: list[Path] = field(default_factory=list)  # every photo decided again, changed or not

    @property
    def images(self) -> int:
        """How many photos were scored again (the readable ones)."""
        return len(self.scored)

    def headline(self) -> str:
        n = len(self.changes)
        return f"{n} image{'s' if n != 1 else ''} would change folder (of {self.images})."

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "model": str(self.model_path) if self.model_path else None,
            "images": self.images,
            "would_change": len(self.changes),
            "changes": [
                {"source": str(c.source), "from": c.old_folders, "to": c.new_folders}
                for c in self.changes
            ],
            "skipped": [{"source": str(p), "reason": r} for p, r in self.skipped],
        }


@dataclass
class ResortSummary:
    changed: int = 0
    added: int = 0
    removed: int = 0
    kept_changed: list[Path] = field(default_factory=list)
    kept_shared: list[Path] = field(default_factory=list)  # also another photo's copy
    errors: list[tuple[Path, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "added": self.added,
            "removed": self.removed,
            "kept_changed": [str(p) for p in self.kept_changed],
            "kept_shared": [str(p) for p in self.kept_shared],
            "errors": [{"source": str(p), "reason": r} for p, r in self.errors],
        }


def recorded_images(out: str | os.PathLike[str]) -> list[Recorded]:
    """Every photo the runs into OUT (not undone) sorted, with its copies that still exist.

    Raises:
        BadPathError: OUT is not a folder Sorter sorted into.
    """
    out_path = Path(out)
    if not has_journal(out_path):
        raise BadPathError(f"{out_path} holds no Sorter journal: it is not a sorted output folder.")
    found: dict[str, Recorded] = {}
    with Journal(out_path) as journal:
        for run in journal.runs():
            if run.state == UNDONE:
                continue
            rows = journal.db.execute(
                "SELECT seq, source, error FROM plan WHERE run_id=?", (run.id,)
            )
            sources = {seq: src for seq, src, error in rows if not error}
            for src in sources.values():
                found.setdefault(src, Recorded(Path(src)))
            for (seq, folder), op in journal.ops(run.id).items():
                dest = out_path / op.dest
                if seq in sources and op.state == DONE and dest.is_file():
                    found[sources[seq]].folders.add(folder)
                    found[sources[seq]].copies.append(dest)
    return list(found.values())


def plan_resort(
    out: str | os.PathLike[str],
    model: Any,
    *,
    default_threshold: float | None = None,
    thresholds: Mapping[str, float] | None = None,
    score: Callable[..., Iterator[Any]] | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ResortPlan:
    """Score OUT's images with `model` and list those whose folders would change (no writes).

    `score` is the scorer sorting uses (default: predict.score_images).

    Raises:
        BadPathError: OUT is not a sorted output folder.
        Cancelled: `cancel` was triggered (nothing was written).
    """
    from sorter.core.sorting.plan import plan_sort, resolve_thresholds

    if score is None:
        from sorter.core.model.predict import score_images as score

    out_path = Path(out)
    records = recorded_images(out_path)
    plan = ResortPlan(out_path, getattr(model, "path", None), list(model.categories))
    scorable = [(r, r.readable) for r in records]
    plan.skipped = [
        (r.source, "neither the photo nor a copy of it is left") for r, p in scorable if p is None
    ]
    scorable = [(r, p) for r, p in scorable if p is not None]
    # Keyed by source, not by the file scored: twins moved onto one shared copy are two photos.
    paths = list(dict.fromkeys(p for _, p in scorable))
    results = list(score(model, paths, progress=progress, cancel=cancel))
    if cancel is not None:
        cancel.raise_if_cancelled()
    scored = dict(zip(paths, results, strict=True))  # a scorer yields one per path, in order
    th = resolve_thresholds(model, default_threshold, thresholds)  # the rule sorting uses
    decided = plan_sort(
        out_path, out_path, [scored[p] for _, p in scorable], model.categories,
        th.default, th.own, model.empty_category, exclusive=is_exclusive(model),
        max_labels=label_cap(model),
    )  # fmt: skip
    for (record, _), item in zip(scorable, decided.items, strict=True):
        _add_change(plan, record, item)
    return plan


def record_resort(plan: ResortPlan) -> None:
    """Note in OUT's journal that the plan's model now decides where the photos it scored
    belong, so a later correction of one of them is told about that model, not the one of
    the first sort. A re-sort that changes nothing still counts: the model agreed."""
    resorted: dict[str, Any] = {"categories": plan.categories, "at": time.time()}
    if plan.model_path:
        resorted["model_file"] = os.path.abspath(plan.model_path)
    try:
        with OutputLock(plan.out), Journal(plan.out) as journal:
            journal.note_resort([str(p) for p in plan.scored], resorted)
    except (SorterError, OSError, sqlite3.Error) as exc:  # the folders are right all the same
        log.warning("Could not note the re-sort in the journal of %s: %s", plan.out, exc)


def _add_change(plan: ResortPlan, record: Recorded, item: PlanItem) -> None:
    if item.scores is None:
        plan.skipped.append((record.source, item.error or "unreadable"))
        return
    plan.scored.append(record.source)
    old = sorted(f for f in record.folders if f != UNREADABLE)
    if set(old) != set(item.folders):
        plan.changes.append(ResortChange(record.source, old, item.folders, item.categories))


def apply_resort(
    plan: ResortPlan,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ResortSummary:
    """Move each changed image to its new folders through relabel (safe copies, journaled).

    Stops cleanly between images when cancelled; every image done so far is complete.
    """
    summary = ResortSummary()
    if plan.changes:  # what a killed command left, once for all images
        with OutputLock(plan.out), Journal(plan.out) as journal:
            clean_leftovers(journal)
    meter = RateMeter("Re-sorting", len(plan.changes))
    done_ones: list[RelabelResult] = []
    try:
        for done, change in enumerate(plan.changes, start=1):
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                result = relabel(
                    plan.out, change.source, change.categories, plan.categories,
                    report=False, clean=False,
                )  # fmt: skip
            except (SorterError, OSError) as exc:
                log.warning("Could not re-sort %s: %s", change.source, exc)
                summary.errors.append((change.source, str(exc)))
            else:
                done_ones.append(result)
                summary.changed += 1
                summary.added += len(result.added)
                summary.removed += len(result.removed)
                summary.kept_changed += result.kept_changed
                summary.kept_shared += result.kept_shared
            progress(meter.report(done))
        record_resort(plan)
    finally:  # one rewrite of the report for the whole re-sort, cancelled or not
        if done_ones:
            _report(plan.out, done_ones)
    return summary


def _report(out: Path, results: list[RelabelResult]) -> None:
    try:
        with OutputLock(out):
            note_in_report(out, results)
    except SorterError as exc:  # another run holds OUT: the copies are right, the report waits
        log.warning("Could not bring the report in %s up to date: %s", out, exc)
