"""The sort plan: where every image goes, decided from its scores. Pure: writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sorter.core.model.decide import UNCERTAIN, decide, top_scores
from sorter.core.sorting.names import unique_folder_names
from sorter.core.sorting.report import UNREADABLE, ImageOutcome


class Scored(Protocol):
    """What a scorer yields per image (predict.ScoredImage has this shape)."""

    path: Path
    scores: list[float] | None
    error: str | None


@dataclass
class PlanItem:
    """One image and where it goes: `folders` are folder names under OUT (never empty unless
    the image is unreadable)."""

    source: Path
    scores: list[float] | None
    error: str | None
    categories: list[str]  # decided categories; empty = uncertain
    folders: list[str]


@dataclass
class SortPlan:
    """Everything apply_plan needs; computing it writes nothing."""

    src: Path
    out: Path
    categories: list[str]
    folder_names: dict[str, str]  # category -> folder under OUT
    items: list[PlanItem]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def signature(self, mode: str) -> str:
        """Identifies the same job run again (same sources, same decisions, same mode)."""
        data = [mode, str(self.src), str(self.out)]
        data += [[str(i.source), i.folders, i.error is None] for i in self.items]
        return hashlib.sha256(json.dumps(data).encode("utf-8")).hexdigest()


def plan_sort(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    scored: Iterable[Scored],
    categories: Sequence[str],
    default_threshold: float,
    thresholds: Mapping[str, float] | None = None,
    empty_category: str | None = None,
    *,
    skipped: Iterable[tuple[Path, str]] = (),
) -> SortPlan:
    """Decide every image's folders from its scores. Pure: touches no file.

    Cheap enough to call again whenever a threshold moves.
    """
    folder_names = unique_folder_names(categories)
    items = []
    for s in scored:
        if s.scores is None:
            items.append(PlanItem(Path(s.path), None, s.error or "unreadable", [], []))
            continue
        chosen = decide(s.scores, categories, default_threshold, thresholds, empty_category)
        folders = [folder_names[c] for c in chosen] or [UNCERTAIN]
        items.append(PlanItem(Path(s.path), list(s.scores), None, chosen, folders))
    return SortPlan(Path(src), Path(out), list(categories), folder_names, items, list(skipped))


def plan_outcome(plan: SortPlan, item: PlanItem, status: str) -> ImageOutcome:
    """A report row for an item whose destinations are its planned folder/name."""
    if item.scores is None:
        return ImageOutcome(item.source, [], [], [], UNREADABLE, item.error or "unreadable")
    tops = top_scores(item.scores, plan.categories) if plan.categories else []
    names = item.categories or [UNCERTAIN]
    dests = [Path(folder, item.source.name) for folder in item.folders]
    return ImageOutcome(item.source, names, dests, tops, status)
