"""Saving corrections from the review view: fix the sorted output, then queue the image.

Qt-free: runs inside a worker job and only calls the core.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress

log = logging.getLogger(__name__)

NOT_AVAILABLE = (
    "Fixing the sorted folders after a correction is not available yet in this version; "
    "the correction was saved to the retraining queue."
)


@dataclass
class CorrectionOutcome:
    """What a batch of corrections did: the saved (item, labels) pairs and any notice."""

    saved: list[tuple[Any, list[str]]] = field(default_factory=list)
    notice: str = ""


def output_fixer() -> Callable[..., Any] | None:
    """The core function that moves an image's copies to its corrected folders, if present."""
    try:
        from sorter.core.relabel import relabel_output
    except ImportError:
        return None
    return relabel_output


def model_version(model_path: Path | str | None) -> str | None:
    if model_path is None:
        return None
    from sorter.core.versions import version_name_of

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
    from sorter.core.corrections import CorrectionQueue

    queue = CorrectionQueue()
    fix = output_fixer()
    version = model_version(model_path)
    meter = RateMeter("Saving corrections", len(items))
    outcome = CorrectionOutcome(notice="" if fix else NOT_AVAILABLE)
    for n, (item, true_labels) in enumerate(zip(items, labels, strict=True), start=1):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if fix is not None:
            fix(out, item.path, list(true_labels), categories=list(categories))
        queue.add(
            item.path, true_labels, scores=item.score_map(list(categories)), model_version=version
        )
        outcome.saved.append((item, list(true_labels)))
        progress(meter.report(n))
    return outcome


def pending_corrections() -> int:
    """How many corrections wait in the retraining queue."""
    from sorter.core.corrections import CorrectionQueue

    return CorrectionQueue().pending_count()
