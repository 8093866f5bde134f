"""The window's sort: the same scan, cached scores, plan and apply as `sorter sort`, in steps.

Qt-free on purpose: the window keeps only widgets and wiring; every decision is made here or
deeper in the core. Step 1 scores (reading OUT's saved scores, writing nothing), every slider
move re-plans from those scores, and the copy applies the plan and saves the scores into OUT.
"""

from __future__ import annotations

import heapq
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sorter import appdirs
from sorter.core.errors import BadPathError
from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.model.decide import (
    UNCERTAIN,
    UNREADABLE,
    is_exclusive,
    label_cap,
)
from sorter.core.sorting import places
from sorter.core.sorting.journal import has_journal
from sorter.core.sorting.overrides import apply_overrides
from sorter.core.sorting.plan import (
    SortPlan,
    Thresholds,
    model_file,
    plan_sort,
    resolve_thresholds,
)
from sorter.core.sorting.report import SortSummary
from sorter.core.sorting.resort import recorded_images
from sorter.core.sorting.scan import ScanResult, scan
from sorter.core.sorting.scorecache import (
    PreviewScores,
    ScoreFn,
    ScoreRecord,
    score_job,
    score_preview,
)
from sorter.core.sorting.sort import apply_previewed, default_out
from sorter.core.sorting.update import (
    Earlier,
    SortUpdate,
    UpdateSummary,
    apply_update,
    diff_update,
    earlier_sort,
)
from sorter.core.text import some_of

log = logging.getLogger(__name__)

__all__ = [
    "PreviewFigures",
    "ScoreResult",
    "Thresholds",
    "UnreadableImagesError",
    "copy_images",
    "copy_or_update",
    "initial_thresholds",
    "model_key",
    "preview_figures",
    "proposed_out",
    "remembered_folder",
    "saved_thresholds",
    "scan_and_score",
    "source_root",
    "summary_folders",
]


@dataclass
class ScoreResult:
    """Step 1's output: what the scan found and every image's scores, kept for re-planning."""

    src: Path
    out: Path  # the window may change it until the copy starts
    scores: PreviewScores
    skipped: list[tuple[Path, str]]
    categories: list[str]
    empty_category: str | None = None
    exclusive: bool = False  # the model's kind: at most one folder per image
    max_labels: int | None = None  # a multi-label model's most folders per image
    earlier: Earlier = field(default_factory=dict)  # what earlier runs placed in `out`
    # Images moved by hand in the preview -> category or uncertain; the sliders leave them be.
    overrides: dict[Path, str] = field(default_factory=dict)
    model_file: str | None = None  # the model's file, noted in OUT's journal

    def move_out(self, out: Path) -> None:
        """The user picked another output folder: what was sorted there before is read again."""
        self.out = out
        self.earlier = earlier_sort(out)

    def update(self, plan: SortPlan) -> SortUpdate | None:
        """How copying `plan` would change the earlier sort in OUT (None: a plain copy)."""
        return diff_update(plan, self.earlier)

    @property
    def scored(self) -> list[ScoreRecord]:
        """Every scanned image with its scores (or its error), in scan order."""
        return self.scores.records

    def plan(self, th: Thresholds) -> SortPlan:
        """The plan `sorter sort` would make with these thresholds, with the images moved by
        hand where the user put them; nothing is written."""
        plan = plan_sort(
            self.src, self.out, self.scored, self.categories, th.default, th.own,
            self.empty_category, exclusive=self.exclusive, max_labels=self.max_labels,
            skipped=self.skipped, model_file=self.model_file,
        )  # fmt: skip
        return apply_overrides(plan, self.overrides)


def model_key(model: Any) -> str:
    """Which model saved slider values belong to: its weights' checksum, else its file."""
    meta = getattr(model, "meta", None)
    return getattr(meta, "state_dict_sha256", None) or str(getattr(model, "path", "") or "")


def saved_thresholds(model: Any, settings: Any) -> tuple[float | None, dict[str, float]]:
    """The user's saved slider values (default, per category) when they were set for `model`;
    none for another model, which starts from the thresholds its training chose."""
    if settings.thresholds_model not in (None, model_key(model)):
        return None, {}
    return settings.default_threshold, dict(settings.thresholds)


def initial_thresholds(model: Any, saved_default: float | None, saved: Mapping) -> Thresholds:
    """Where the sliders start: sorting's rule with the user's saved per-category values; a
    saved slider value moves only the default (the model's own values stay ticked as own)."""
    th = resolve_thresholds(model, None, saved)
    if saved_default is not None:
        th.default = float(saved_default)
    return th


def source_root(paths: list[Path]) -> Path:
    """The folder a drop stands for: the folder itself, or the deepest folder holding every item
    (for items on different drives, which share none, the first item's folder)."""
    return _drop_root(paths) or _folders(paths)[0]


def proposed_out(paths: list[Path]) -> Path:
    """Where a drop's copies go unless the user picks another folder: beside it, or in Pictures
    for a drive, a card or items from different drives (see places.default_out_for)."""
    root = _drop_root(paths)
    if root is None:
        return Path(places.default_out_for(None, appdirs.pictures_dir()))
    return default_out(root)


def remembered_folder(paths: list[Path]) -> Path | None:
    """The folder "Recent folders" keeps for a drop: never a drive or card, nor a mixed drop."""
    root = _drop_root(paths)
    return None if root is None or places.is_drive(root) else root


def _folders(paths: list[Path]) -> list[Path]:
    return [p if p.is_dir() else p.parent for p in paths]


def _drop_root(paths: list[Path]) -> Path | None:
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0]
    root = places.common_folder(_folders(paths))
    return Path(root) if root is not None else None


def scan_and_score(
    model: Any,
    sources: list[Path],
    out: Path,
    *,
    batch_size: int | None = None,
    score: ScoreFn | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ScoreResult:
    """Step 1: scan the dropped folders (and files), then score the images OUT's journal holds
    no scores for. Writes nothing: OUT may not exist yet, and the user may still change it.

    Raises:
        BadPathError: a source cannot be opened, or it holds no image.
        UnreadableImagesError: not one of its images can be read (nothing to copy).
        Cancelled: `cancel` was triggered.
    """
    found = scan_sources(sources, out)
    if not found.images:
        raise BadPathError("No images were found in the folder you chose.")
    job = score_job(model, score, batch_size, progress, cancel)
    scores = score_preview(out, model, found.images, job)
    if all(record.scores is None for record in scores.records):
        raise UnreadableImagesError(found.src, [(r.path, r.error or "") for r in scores.records])
    return ScoreResult(
        found.src, out, scores, found.skipped, list(model.categories), model.empty_category,
        is_exclusive(model), label_cap(model), earlier_sort(out), model_file=model_file(model),
    )  # fmt: skip


class UnreadableImagesError(BadPathError):
    """Every image found is unreadable: the message names the first few files and why, and
    `details` lists them all (one a line)."""

    SHOWN = 4  # file names per reason in the message; `details` has them all

    def __init__(self, src: Path, bad: list[tuple[Path, str]]) -> None:
        n = len(bad)
        by_reason: dict[str, list[str]] = {}
        for path, why in bad:
            by_reason.setdefault(why or "unreadable", []).append(path.name)
        groups = [f"{some_of(names, self.SHOWN)}: {why}" for why, names in by_reason.items()]
        super().__init__(
            f"None of the {n} image{'s' if n != 1 else ''} in “{src.name or src}” could be read, "
            f"so nothing was copied. {'; '.join(groups)}."
        )
        self.details = "\n".join(f"{p}: {why or 'unreadable'}" for p, why in bad)


def is_sorted_output(paths: list[Path]) -> bool:
    """A drop of one folder that Sorter sorted into (its journal is there)."""
    return len(paths) == 1 and has_journal(paths[0])


def photos_to_sort_again(paths: list[Path], *, strict: bool = False) -> list[Path] | None:
    """For a drop of one folder that holds nothing but the copies earlier sorts placed there:
    the photos those copies are of (the ones still where they were), to sort again into it.
    None for any other drop, a sorted folder with images of the user's own among the copies
    included: that one is a folder of photos like any other. With `strict`, such a folder is
    an error instead (the caller meant to sort an output again, nothing else).

    Raises:
        BadPathError: it is such a folder, but none of its photos is left to score; with
            `strict`, also a folder that is not (only) a sorted output.
    """
    if not is_sorted_output(paths):
        if strict:
            raise BadPathError(f"{paths[0]} is not a folder Sorter sorted into.")
        return None
    out = paths[0]
    try:
        records = recorded_images(out)
    except BadPathError as exc:  # a damaged journal: sorted like any folder, which says so
        if strict:
            raise
        log.warning("Cannot read the earlier sort in %s: %s", out, exc)
        return None
    copies = {os.path.normcase(os.path.abspath(c)) for r in records for c in r.copies}
    found = scan(out)
    if any(os.path.normcase(os.path.abspath(p)) not in copies for p in found.images):
        if strict:
            raise BadPathError(
                f"{out} also holds images no sort put there, so it cannot simply be sorted "
                "again; drop the folder of the photos instead, with the copies going there."
            )
        return None
    photos = [r.source for r in records if r.folders and r.source.is_file()]
    if not photos:
        raise BadPathError(
            f"None of the photos sorted into {out} is where it was when sorted (moved or "
            "deleted since), so there is nothing to sort again. Its folders stay as they are."
        )
    return photos


def scan_dropped(
    model: Any,
    paths: list[Path],
    out: Path,
    *,
    sort_again: bool = False,
    batch_size: int | None = None,
    score: ScoreFn | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ScoreResult:
    """scan_and_score of a drop into OUT; but a dropped sorted folder (photos_to_sort_again)
    has its photos scored into itself, so the preview is the update of that sort. `sort_again`:
    the drop must be such a folder (the window's "Sort ... again" after a retrain).

    Raises:
        as scan_and_score and photos_to_sort_again.
    """
    again = photos_to_sort_again(paths, strict=sort_again)
    if again is not None:
        paths, out = again, paths[0]
    return scan_and_score(
        model, paths, out, batch_size=batch_size, score=score, progress=progress, cancel=cancel
    )


def scan_sources(sources: list[Path], out: Path) -> ScanResult:
    """scan() of every dropped folder, plus the loose images, each image once."""
    found = ScanResult(source_root(sources))
    for path in sources:
        if path.is_dir():
            part = scan(path, out)
            found.images.extend(part.images)
            found.skipped.extend(part.skipped)
        elif path.is_file():
            found.images.append(path)
        else:
            raise BadPathError(f"{path} cannot be opened: it is not a folder or an image.")
    seen: set[Path] = set()
    found.images = [p for p in found.images if not (p in seen or seen.add(p))]
    return found


@dataclass
class PreviewFigures:
    """What the preview shows for one plan."""

    counts: dict[str, int]  # images per label: categories, uncertain, unreadable
    samples: dict[str, list[Path]]  # a few images per label worth looking at
    to_copy: int  # images that get copied (unreadable ones are only listed in the report)
    folders: int  # folders that receive images
    empty: list[str]  # categories no image reaches


def preview_figures(plan: SortPlan, samples: int = 4) -> PreviewFigures:
    """Counts and sample images per folder, from the same plan the copy would apply."""
    counts = plan.counts()
    return PreviewFigures(
        counts=counts,
        samples=pick_samples(plan, samples),
        to_copy=len(plan.items) - counts[UNREADABLE],
        folders=sum(1 for name, n in counts.items() if n and name != UNREADABLE),
        empty=[name for name in plan.categories if not counts.get(name)],
    )


def pick_samples(plan: SortPlan, k: int) -> dict[str, list[Path]]:
    """Up to k images per label: the surest ones per category, the least sure for uncertain."""
    index = {name: i for i, name in enumerate(plan.categories)}
    members: dict[str, list[int]] = {}
    for row, item in enumerate(plan.items):
        for name in item.labels:
            members.setdefault(name, []).append(row)
    items = plan.items
    samples = {}
    for name, rows in members.items():
        if name == UNREADABLE:
            best = rows[:k]
        elif name == UNCERTAIN:
            best = heapq.nsmallest(k, rows, key=lambda r: max(items[r].scores, default=0.0))
        else:
            col = index[name]
            best = heapq.nlargest(k, rows, key=lambda r: items[r].scores[col])
        samples[name] = [items[r].source for r in best]
    return samples


def copy_images(
    result: ScoreResult,
    plan: SortPlan,
    *,
    mode: str = "copy",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SortSummary:
    """Step 3: copy (or link, or move) as `sorter sort` does (lock, journal, report); the scores
    go into OUT's journal, so a later sort or window run of these images does not score them
    again."""
    return apply_previewed(plan, result.scores, mode=mode, progress=progress, cancel=cancel)


def copy_or_update(
    result: ScoreResult,
    plan: SortPlan,
    *,
    mode: str = "copy",
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SortSummary | UpdateSummary:
    """Step 3 for a folder sorted into OUT before: update that sort (copies move, stale ones
    go; new images follow `mode`); otherwise copy_images()."""
    update = diff_update(plan, earlier_sort(plan.out))  # read again: OUT may have changed
    if update is None:
        return copy_images(result, plan, mode=mode, progress=progress, cancel=cancel)
    return apply_update(update, plan, result.scores, mode=mode, progress=progress, cancel=cancel)


def summary_folders(plan: SortPlan, summary: SortSummary) -> dict[str, tuple[Path, int]]:
    """Folder name -> (folder path, images copied there) from the core's summary."""
    out = Path(plan.out)
    folders = {
        name: (out / plan.folder_names.get(name, name), summary.per_category.get(name, 0))
        for name in plan.categories
    }
    folders[UNCERTAIN] = (out / UNCERTAIN, summary.uncertain)
    return folders
