"""Sorting a folder again into an output an earlier run wrote: an update of that sort, not a pile.

The window reads what the earlier runs placed (once per scan), diffs every re-plan against it
(pure, so the preview shows the diff live as a slider moves), and applies an update as the
core's re-sort (copies move to their new folders, stale ones go) followed by an ordinary copy of
the images no earlier run sorted. Nothing else in OUT is touched.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sorter.core.errors import BadPathError
from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.model.decide import UNREADABLE
from sorter.core.sorting.journal import UNDONE, Journal, has_journal
from sorter.core.sorting.plan import SortPlan
from sorter.core.sorting.report import SortSummary
from sorter.core.sorting.resort import (
    ResortChange,
    ResortPlan,
    ResortSummary,
    apply_resort,
    recorded_images,
)
from sorter.core.sorting.scorecache import PreviewScores
from sorter.core.sorting.sort import apply_previewed
from sorter.core.sorting.undo import UndoSummary, undo_run

log = logging.getLogger(__name__)

Earlier = dict[str, frozenset[str]]  # source path -> folders its copies are in now


def earlier_sort(out: str | os.PathLike[str]) -> Earlier:
    """What the runs into OUT (not undone) placed: each photo's folders; {} for a new OUT.

    Reads OUT's journal only; creates nothing (OUT may not exist yet).
    """
    if not has_journal(out):
        return {}
    try:
        records = recorded_images(out)
    except BadPathError as exc:  # a damaged journal: the copy will say so in its own words
        log.warning("Cannot read the earlier sort in %s: %s", out, exc)
        return {}
    return {
        str(r.source): frozenset(f for f in r.folders if f != UNREADABLE)
        for r in records
        if r.folders
    }


@dataclass
class SortUpdate:
    """How a plan differs from the sort already in OUT: the diff the user sees first."""

    resort: ResortPlan  # images whose copies move
    stay: int = 0  # images already in exactly their folders
    new: int = 0  # images no earlier run copied here: copied as usual
    arrive: Counter[str] = field(default_factory=Counter)  # folder -> images moving in
    leave: Counter[str] = field(default_factory=Counter)  # folder -> copies that go

    @property
    def moving(self) -> int:
        return len(self.resort.changes)

    @property
    def stale(self) -> int:
        """Copies that go: folders an image no longer belongs to."""
        return sum(self.leave.values())

    def folder_changes(self) -> list[str]:
        """ "cats +3", "uncertain -12": one entry per folder that changes, largest first."""
        names = sorted(set(self.arrive) | set(self.leave),
                       key=lambda n: (-(self.arrive[n] + self.leave[n]), n))  # fmt: skip
        parts = []
        for name in names:
            change = [f"+{self.arrive[name]}" if self.arrive[name] else "",
                      f"-{self.leave[name]}" if self.leave[name] else ""]  # fmt: skip
            parts.append(f"{name} {' '.join(c for c in change if c)}")
        return parts


def diff_update(plan: SortPlan, earlier: Earlier) -> SortUpdate | None:
    """The update a plan makes to the earlier sort in its OUT; None when no image of the plan
    was sorted there before (a plain copy). Pure: touches no file."""
    if not earlier:
        return None
    model_path = Path(plan.model_file) if plan.model_file else None
    update = SortUpdate(ResortPlan(Path(plan.out), model_path, list(plan.categories)))
    for item in plan.items:
        if item.scores is None:
            continue  # unreadable: only listed in the report
        old = earlier.get(str(item.source))
        if old is None:
            update.new += 1
            continue
        update.resort.scored.append(Path(item.source))
        new = set(item.folders)
        if new == old:
            update.stay += 1
            continue
        update.arrive.update(new - old)
        update.leave.update(old - new)
        update.resort.changes.append(
            ResortChange(item.source, sorted(old), list(item.folders), list(item.categories))
        )
    return update if update.resort.images else None


@dataclass
class UpdateSummary:
    """What applying an update did: the re-sort of earlier images, then the copy of the plan."""

    resort: ResortSummary
    copy: SortSummary


def apply_update(
    update: SortUpdate,
    plan: SortPlan,
    scores: PreviewScores,
    *,
    mode: str = "copy",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> UpdateSummary:
    """Move the changed images' copies (the core's re-sort), then apply the plan in `mode`:
    images already in place are found identical and left alone (a move then takes their source
    away), new ones are copied, linked or moved, the report is rewritten.

    Raises:
        LockedError, OutOfSpaceError, BadPathError (SorterError); Cancelled between images.
    """
    moved = apply_resort(update.resort, progress=progress, cancel=cancel)
    copied = apply_previewed(plan, scores, mode=mode, progress=progress, cancel=cancel)
    log.info("Updated the sort in %s: %d moved, %d removed, %d written", plan.out,
             moved.changed, moved.removed, copied.copied)  # fmt: skip
    return UpdateSummary(moved, copied)


def sort_runs(out: str | os.PathLike[str], sources: list[Path]) -> list[int]:
    """The runs (not undone) that placed copies of these photos in OUT, latest first: the runs
    "Undo this sort" takes back after an update."""
    wanted = {str(p) for p in sources}
    with Journal(out) as journal:
        live = [r.id for r in journal.runs() if r.state != UNDONE]
        found = {
            run_id
            for run_id in live
            for (source,) in journal.db.execute("SELECT source FROM plan WHERE run_id=?", (run_id,))
            if source in wanted
        }
    return sorted(found, reverse=True)


@dataclass
class UndoneSort:
    """What "Undo this sort" did across its runs."""

    removed: int = 0
    kept_changed: int = 0  # copies edited since the sort: left where they are
    kept_other: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    runs: list[UndoSummary] = field(default_factory=list)
    restored: int = 0  # photos a move took away, put back where they were
    not_restored: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)


def undo_sort(out: str | os.PathLike[str], run_ids: list[int]) -> UndoneSort:
    """Undo each run (latest first) with the core's undo: only unchanged copies go.

    Raises:
        BadPathError: a run is already undone or OUT has no journal; LockedError.
    """
    done = UndoneSort()
    for run_id in sorted(set(run_ids), reverse=True):
        summary = undo_run(out, run_id)
        done.runs.append(summary)
        done.removed += summary.removed
        done.restored += summary.restored
        done.not_restored.extend(summary.not_restored)
        for path, reason in summary.kept:
            if reason.startswith("changed since"):
                done.kept_changed += 1
            elif reason != "folder not empty":
                done.kept_other.append((path, reason))
    return done


def undo_sort_of(out: str | os.PathLike[str], sources: list[Path]) -> UndoneSort:
    """Undo every run that placed these photos in OUT: the sort just made, and the earlier sort
    it updated (with the corrections made since), so OUT holds none of their unchanged copies.

    Raises:
        BadPathError: OUT has no journal; LockedError: a run is writing into OUT.
    """
    return undo_sort(out, sort_runs(out, sources))
