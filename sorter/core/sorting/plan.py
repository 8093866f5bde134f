"""The sort plan: where every image goes, decided from its scores. Pure: writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
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


class ThresholdSource(Protocol):
    """The model's side of the threshold rule (modelfile.LoadedModel has this shape)."""

    categories: Sequence[str]
    default_threshold: float
    thresholds: Mapping[str, float]


@dataclass
class Thresholds:
    """What a plan decides with: one default, and the categories that have their own value."""

    default: float
    own: dict[str, float] = field(default_factory=dict)

    def for_category(self, name: str) -> float:
        return self.own.get(name, self.default)


def resolve_thresholds(
    model: ThresholdSource,
    default_threshold: float | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> Thresholds:
    """The one rule for the thresholds of a sort, a re-sort and the window.

    Without `default_threshold`: the model's default, and its per-category values where they
    differ from it. A given `default_threshold` stands for every category instead of the model's
    values. Either way `thresholds` override single categories (names the model lacks are
    dropped).
    """
    names = set(model.categories)
    given = {name: float(v) for name, v in (thresholds or {}).items() if name in names}
    if default_threshold is not None:
        return Thresholds(float(default_threshold), given)
    default = float(model.default_threshold)
    own = {
        name: float(value)
        for name, value in (model.thresholds or {}).items()
        if name in names and abs(float(value) - default) > 1e-9
    }
    return Thresholds(default, {**own, **given})


@dataclass
class PlanItem:
    """One image and where it goes: `folders` are folder names under OUT (never empty unless
    the image is unreadable)."""

    source: Path
    scores: list[float] | None
    error: str | None
    categories: list[str]  # decided categories; empty = uncertain
    folders: list[str]

    @property
    def labels(self) -> list[str]:
        """Where the image goes by name: its categories, [uncertain] or [unreadable]."""
        if self.scores is None:
            return [UNREADABLE]
        return self.categories or [UNCERTAIN]


@dataclass
class SortPlan:
    """Everything apply_plan needs; computing it writes nothing."""

    src: Path
    out: Path
    categories: list[str]
    folder_names: dict[str, str]  # category -> folder under OUT
    items: list[PlanItem]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    model_file: str | None = None  # the model that scored it, noted in the journal when known

    def signature(self, mode: str) -> str:
        """Identifies the same job run again (same sources, same decisions, same mode)."""
        data = [mode, str(self.src), str(self.out)]
        data += [[str(i.source), i.folders, i.error is None] for i in self.items]
        return hashlib.sha256(json.dumps(data).encode("utf-8")).hexdigest()

    def counts(self) -> dict[str, int]:
        """Images per label: the categories in model order, then uncertain and unreadable."""
        tally = Counter(name for item in self.items for name in item.labels)
        return {name: tally.get(name, 0) for name in [*self.categories, UNCERTAIN, UNREADABLE]}


def model_file(model: object) -> str | None:
    """The absolute path of the file a loaded model came from, for the journal (None: unknown)."""
    path = getattr(model, "path", None)
    return os.path.abspath(path) if path else None


def plan_sort(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    scored: Iterable[Scored],
    categories: Sequence[str],
    default_threshold: float,
    thresholds: Mapping[str, float] | None = None,
    empty_category: str | None = None,
    *,
    exclusive: bool = False,
    max_labels: int | None = None,
    skipped: Iterable[tuple[Path, str]] = (),
    model_file: str | None = None,
) -> SortPlan:
    """Decide every image's folders from its scores. Pure: touches no file.

    `exclusive` (the model's kind): at most one folder per image, else every category that
    passes (decide), at most `max_labels` of them. Cheap enough to call again whenever a
    threshold moves. `model_file` (plan.model_file) goes into the journal with the plan.
    """
    folder_names = unique_folder_names(categories)
    items = []
    for s in scored:
        if s.scores is None:
            items.append(PlanItem(_path(s.path), None, s.error or "unreadable", [], []))
            continue
        chosen = decide(
            s.scores, categories, default_threshold, thresholds, empty_category,
            exclusive=exclusive, max_labels=max_labels,
        )  # fmt: skip
        folders = [folder_names[c] for c in chosen] or [UNCERTAIN]
        items.append(PlanItem(_path(s.path), list(s.scores), None, chosen, folders))
    return SortPlan(
        Path(src), Path(out), list(categories), folder_names, items, list(skipped), model_file
    )


def _path(path: str | os.PathLike[str]) -> Path:
    # Path(a_path) parses it again: most of a re-plan's time when the slider moves over 20k images
    return path if isinstance(path, Path) else Path(path)


def plan_outcome(plan: SortPlan, item: PlanItem, status: str) -> ImageOutcome:
    """A report row for an item whose destinations are its planned folder/name."""
    if item.scores is None:
        return ImageOutcome(item.source, [], [], [], UNREADABLE, item.error or "unreadable")
    tops = top_scores(item.scores, plan.categories) if plan.categories else []
    names = item.categories or [UNCERTAIN]
    dests = [Path(folder, item.source.name) for folder in item.folders]
    return ImageOutcome(item.source, names, dests, tops, status)
