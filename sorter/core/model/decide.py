"""Scores to categories: a pure function the window can call again on every slider move."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

UNCERTAIN = "uncertain"
UNREADABLE = "unreadable"


class Categorizer(Protocol):
    """What deciding needs of a model (a LoadedModel, or a test's fake): names and thresholds."""

    @property
    def categories(self) -> list[str]: ...

    @property
    def default_threshold(self) -> float: ...

    @property
    def thresholds(self) -> Mapping[str, float]: ...

    @property
    def empty_category(self) -> str | None: ...

    @property
    def exclusive(self) -> bool:
        """True for a single-label model: at most one category per image."""
        ...


def is_exclusive(model: object) -> bool:
    """The model's kind (Categorizer.exclusive). An object without one decides multi-label, as
    every model did before single-label models existed."""
    return bool(getattr(model, "exclusive", False))


def label_cap(model: object) -> int | None:
    """The most folders a multi-label model puts an image in (None: no limit, the default for
    models and fakes without one)."""
    return getattr(model, "max_labels", None)


def decide(
    scores: Sequence[float],
    categories: Sequence[str],
    default_threshold: float,
    thresholds: Mapping[str, float] | None = None,
    empty_category: str | None = None,
    *,
    exclusive: bool = False,
    max_labels: int | None = None,
) -> list[str]:
    """The categories an image goes to; an empty list means it is uncertain.

    Multi-label (the default): every category whose score reaches its threshold, in model
    order; `empty_category` (a learned "nothing here" class) is dropped whenever a real
    category also passes; with `max_labels`, only that many of them, the highest scores first
    (no training image had more labels). `exclusive` (a single-label model): only the
    best-scoring category (the first in model order on a tie), and only when its score reaches
    its threshold.

    Raises:
        ValueError: if scores and categories differ in length.
    """
    if len(scores) != len(categories):
        raise ValueError(f"{len(scores)} scores for {len(categories)} categories")
    thresholds = thresholds or {}
    if exclusive:
        if not scores:
            return []
        best = max(range(len(scores)), key=scores.__getitem__)
        name = categories[best]
        return [name] if scores[best] >= thresholds.get(name, default_threshold) else []
    chosen = [
        name
        for name, score in zip(categories, scores, strict=True)
        if score >= thresholds.get(name, default_threshold)
    ]
    if empty_category is not None and empty_category in chosen and len(chosen) > 1:
        chosen.remove(empty_category)
    if max_labels is not None and len(chosen) > max_labels:
        index = {name: i for i, name in enumerate(categories)}
        best = sorted(chosen, key=lambda name: -scores[index[name]])[:max_labels]
        chosen = [name for name in chosen if name in best]  # model order, as always
    return chosen


def top_scores(
    scores: Sequence[float], categories: Sequence[str], k: int = 3
) -> list[tuple[str, float]]:
    """The k highest (category, score) pairs, best first: the 'why' shown to users."""
    pairs = sorted(zip(categories, scores, strict=True), key=lambda p: p[1], reverse=True)
    return [(name, float(score)) for name, score in pairs[:k]]
