"""What the window knows about one sort (cached scores, thresholds), and the core jobs it runs.

Qt-free on purpose: the window keeps no sorting logic; these helpers only call the core.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sorter.core.errors import BadPathError
from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.model.decide import UNCERTAIN, UNREADABLE, decide

log = logging.getLogger(__name__)


@dataclass
class Thresholds:
    """The slider's value for every category, plus the ones the user set on their own."""

    default: float
    own: dict[str, float] = field(default_factory=dict)

    def for_category(self, name: str) -> float:
        return self.own.get(name, self.default)


@dataclass
class ScoreResult:
    """Step 1's output: every scanned image with its scores, cached for instant re-deciding."""

    src: Path
    out: Path
    scored: list[Any]  # core ScoredImage, in scan order
    skipped: list[Any]
    categories: list[str]
    model_default: float
    model_thresholds: dict[str, float]
    empty_category: str | None = None

    def decisions(self, th: Thresholds) -> list[list[str]]:
        """Folders of each image: categories, [UNCERTAIN] or [UNREADABLE] (core decide())."""
        out = []
        for item in self.scored:
            if item.scores is None:
                out.append([UNREADABLE])
                continue
            chosen = decide(item.scores, self.categories, th.default, th.own, self.empty_category)
            out.append(chosen or [UNCERTAIN])
        return out

    def counts(self, th: Thresholds, decisions: list[list[str]] | None = None) -> dict[str, int]:
        """Images per folder, categories in model order, then uncertain and unreadable."""
        decisions = self.decisions(th) if decisions is None else decisions
        tally = Counter(name for chosen in decisions for name in chosen)
        names = [*self.categories, UNCERTAIN, UNREADABLE]
        return {name: tally.get(name, 0) for name in names}


def initial_thresholds(model: Any, saved_default: float | None, saved: dict) -> Thresholds:
    """Slider starts at the saved value or the model's; per-category values that differ stay own."""
    default = saved_default if saved_default is not None else float(model.default_threshold)
    own = {
        name: float(value)
        for name, value in model.thresholds.items()
        if abs(float(value) - float(model.default_threshold)) > 1e-9
    }
    own.update({k: float(v) for k, v in saved.items() if k in model.categories})
    return Thresholds(default, own)


def source_root(paths: list[Path]) -> Path:
    """The folder a drop stands for: the folder itself, or the common parent of several items."""
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0]
    parents = [p if p.is_dir() else p.parent for p in paths]
    return Path(os.path.commonpath([str(p) for p in parents]))


def scan_and_score(
    model: Any,
    sources: list[Path],
    out: Path,
    *,
    batch_size: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ScoreResult:
    """Step 1: scan the dropped folders (and files), then score every image with the model."""
    from sorter.core.model.predict import score_images
    from sorter.core.sorting.sort import scan

    images, skipped = _collect_images(sources, out, scan)
    if not images:
        raise BadPathError("No images were found in the folder you chose.")
    scored = list(
        score_images(
            model,
            images,
            batch_size=batch_size,
            progress=progress,
            cancel=cancel,
            total=len(images),
        )
    )
    if cancel is not None:
        cancel.raise_if_cancelled()
    return ScoreResult(
        src=source_root(sources),
        out=out,
        scored=scored,
        skipped=skipped,
        categories=list(model.categories),
        model_default=float(model.default_threshold),
        model_thresholds=dict(model.thresholds),
        empty_category=model.empty_category,
    )


def _collect_images(sources: list[Path], out: Path, scan: Any) -> tuple[list[Path], list]:
    images: list[Path] = []
    skipped: list = []
    for path in sources:
        if path.is_dir():
            found = scan(path, out)
            images.extend(found.images)
            skipped.extend(found.skipped)
        elif path.is_file():
            images.append(path)
        else:
            raise BadPathError(f"{path} cannot be opened: it is not a folder or an image.")
    seen: set[Path] = set()
    unique = [p for p in images if not (p in seen or seen.add(p))]
    return unique, skipped


def build_plan(result: ScoreResult, th: Thresholds) -> Any:
    """The core's pure plan for the current thresholds (nothing is written)."""
    from sorter.core.sorting.sort import plan_sort

    return plan_sort(
        result.src,
        result.out,
        result.scored,
        result.categories,
        th.default,
        thresholds=dict(th.own),
        empty_category=result.empty_category,
    )


def copy_images(
    plan: Any, *, progress: ProgressCallback = no_progress, cancel: CancelToken | None = None
) -> Any:
    """Step 3: the core copies the files (lock, journal and report included)."""
    from sorter.core.sorting.sort import apply_plan

    return apply_plan(plan, mode="copy", progress=progress, cancel=cancel)


def summary_folders(plan: Any, summary: Any) -> dict[str, tuple[Path, int]]:
    """Folder name -> (folder path, images copied there) from the core's summary."""
    out = Path(plan.out)
    folders = {
        name: (out / plan.folder_names.get(name, name), summary.per_category.get(name, 0))
        for name in plan.categories
    }
    folders[UNCERTAIN] = (out / UNCERTAIN, summary.uncertain)
    return folders
