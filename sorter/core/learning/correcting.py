"""Saving corrections from the review view: fix the sorted output, then queue the image.

Qt-free: runs inside a worker job and only calls the core.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress

if TYPE_CHECKING:
    from sorter.core.learning.advice import SortedCopy
    from sorter.core.sorting.relabel import RelabelResult

log = logging.getLogger(__name__)


@dataclass
class CorrectionOutcome:
    """What a batch of corrections did: the saved (item, labels) pairs and any notice."""

    saved: list[tuple[Any, list[str]]] = field(default_factory=list)
    pictures: dict[Path, Path] = field(default_factory=dict)  # moved source -> its copy now
    added: int = 0
    removed: int = 0
    notice: str = ""


def model_version(model_path: Path | str | None) -> str | None:
    if model_path is None:
        return None
    from sorter.core.learning.versions import version_name_of

    return version_name_of(model_path)


def save_corrections(
    out: Path,
    categories: Sequence[str],
    items: Sequence[Any],
    labels: Sequence[list[str]],
    *,
    model_path: Path | str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> CorrectionOutcome:
    """For each reviewed item: fix its copies under `out`, then add it to the correction queue.

    The source image is only read (a small copy goes into the queue); it is never changed.
    """
    from sorter.core.learning.queue import CorrectionQueue
    from sorter.core.sorting.relabel import relabel

    queue = CorrectionQueue()
    version = model_version(model_path)
    meter = RateMeter("Saving corrections", len(items))
    outcome = CorrectionOutcome()
    for n, (item, true_labels) in enumerate(zip(items, labels, strict=True), start=1):
        if cancel is not None:
            cancel.raise_if_cancelled()
        fixed = relabel(out, item.path, list(true_labels), list(categories))
        outcome.added += len(fixed.added)
        outcome.removed += len(fixed.removed)
        if fixed.kept_changed:
            outcome.notice = "Copies you edited since sorting were left where they are."
        # After a move the source is gone: the queue reads the copy the relabel left in OUT.
        shown = item.path if item.path.is_file() or not fixed.copies else fixed.copies[0]
        queue.add(
            shown, true_labels, scores=item.score_map(list(categories)), model_version=version
        )
        outcome.saved.append((item, list(true_labels)))
        if shown != item.path:
            outcome.pictures[item.path] = shown
        progress(meter.report(n))
    return outcome


def fix_sorted_copy(copy: SortedCopy, labels: Sequence[str]) -> RelabelResult:
    """Put the photo of a copy in a Sorter output into exactly the folders of `labels` there,
    as the window's Save does (relabel.relabel: journaled, undoable, edited copies left alone).

    Raises:
        SorterError: OUT is locked by another run, or neither the photo nor a copy is left.
    """
    from sorter.core.sorting.relabel import relabel

    return relabel(copy.out, copy.source, list(labels), copy.categories or None)


def copy_folders(copy: SortedCopy) -> list[str]:
    """The folders of its output that hold a copy of the photo of `copy` now."""
    from sorter.core.sorting.journal import Journal
    from sorter.core.sorting.relabel import placed_copies

    with Journal(copy.out) as journal:
        found = placed_copies(journal, copy.source)
    return sorted({c.folder for c in found if c.dest.exists()})


def pending_corrections() -> int:
    """How many corrections wait in the retraining queue."""
    from sorter.core.learning.queue import CorrectionQueue

    return CorrectionQueue().pending_count()
