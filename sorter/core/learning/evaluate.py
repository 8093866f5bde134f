"""Old model against new on the same images: metrics, the before/after table, the verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sorter.core.training import metrics as th

# How much worse a new model may measure and still count as "not worse": one image in a
# hundred decisions is within the noise of a few dozen held-out images.
TOLERANCE = 0.01


@dataclass
class SideMetrics:
    """One model measured on one evaluation set."""

    accuracy_multi: float  # share of (image, category) decisions that are right
    exact_match: float  # share of images whose whole category set is right
    uncertain: int  # images that would go to uncertain
    f1: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy_multi": self.accuracy_multi,
            "exact_match": self.exact_match,
            "uncertain": self.uncertain,
            "f1": dict(self.f1),
        }


@dataclass
class Comparison:
    """Old and new on one evaluation set (held-out corrections, or the original validation)."""

    name: str
    images: int
    old: SideMetrics
    new: SideMetrics
    note: str = ""

    @property
    def worse(self) -> bool:
        """True when the new model is measurably worse here.

        Exact match (an image in exactly its right folders) comes first; a lower
        accuracy_multi is forgiven only when exact match clearly improves, because a model
        that sends everything to uncertain scores well on accuracy_multi alone.
        """
        if self.images == 0:
            return False
        exact_gain = self.new.exact_match - self.old.exact_match
        multi_gain = self.new.accuracy_multi - self.old.accuracy_multi
        return exact_gain < -TOLERANCE or (multi_gain < -TOLERANCE and exact_gain <= TOLERANCE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "images": self.images,
            "note": self.note,
            "old": self.old.to_dict(),
            "new": self.new.to_dict(),
            "worse": self.worse,
        }


@dataclass
class CandidateScores:
    """A candidate's scores on the images that judge it, in the retrain's category order."""

    judged: list[int]  # the corrections scored: indices into the retrain's corrections
    corrections: np.ndarray  # (len(judged), C): row i scores correction judged[i]
    valid_paths: list[Path]  # the original validation images (none without the original data)
    valid_scores: np.ndarray  # (len(valid_paths), C)
    valid_targets: np.ndarray


def measure(
    scores: np.ndarray,
    targets: np.ndarray,
    categories: Sequence[str],
    thresholds: Mapping[str, float],
    default: float = 0.5,
    exclusive: bool = False,
) -> SideMetrics:
    """Metrics of one model's scores, decided with its own thresholds and by its own kind
    (`exclusive`: a single-label model, at most one category per image)."""
    if len(scores) == 0:
        return SideMetrics(math.nan, math.nan, 0)
    decisions = th.decisions(scores, categories, thresholds, exclusive, default)
    accuracy = float(np.mean(decisions == (targets > 0.5)))
    exact, uncertain = th.decided_accuracy(
        scores, targets, categories, thresholds, default, exclusive
    )
    per = th.category_metrics(
        scores, targets, categories, {c: thresholds.get(c, default) for c in categories},
        exclusive,
    )  # fmt: skip
    f1 = {c: m["f1"] for c, m in per.items() if m["support"]}
    return SideMetrics(accuracy, float(exact), int(uncertain), f1)


def compare(
    name: str,
    old_scores: np.ndarray,
    new_scores: np.ndarray,
    targets: np.ndarray,
    categories: Sequence[str],
    old_thresholds: Mapping[str, float],
    new_thresholds: Mapping[str, float],
    note: str = "",
    old_exclusive: bool = False,
    new_exclusive: bool = False,
) -> Comparison:
    """Both models on the same images, each decided by its own kind (`*_exclusive`); all
    arrays are (N, C) in `categories` order.

    Categories the old model does not know must score 0 in `old_scores` (never chosen).
    """
    never = dict.fromkeys(categories, 1.1)  # a category the old model lacks is never chosen
    old_limits = {**never, **old_thresholds}
    old = measure(old_scores, targets, categories, old_limits, exclusive=old_exclusive)
    new = measure(new_scores, targets, categories, new_thresholds, exclusive=new_exclusive)
    return Comparison(name, len(targets), old, new, note)


def verdict(comparisons: Sequence[Comparison], forgotten: Sequence[str] = ()) -> tuple[bool, str]:
    """(not worse, why): the new model must not be worse on any evaluation set.

    `forgotten` are categories the old model knew and the new one had no example of: no
    evaluation can vouch for them, so the new model is not promoted on its own.
    """
    if forgotten:
        names = ", ".join(forgotten[:5]) + (
            f" and {len(forgotten) - 5} more" if len(forgotten) > 5 else ""
        )
        return False, (
            f"the new model would forget {len(forgotten)} categor"
            f"{'y' if len(forgotten) == 1 else 'ies'} that no training image or correction shows"
            f" ({names}); correct some images of them, or promote anyway with --yes"
        )
    measured = [c for c in comparisons if c.images]
    if not measured:
        return False, "there were no images to evaluate the new model on"
    worse = [c for c in measured if c.worse]
    if worse:
        parts = [
            f"on {c.name} accuracy_multi {c.old.accuracy_multi:.3f} -> {c.new.accuracy_multi:.3f},"
            f" exact {c.old.exact_match:.3f} -> {c.new.exact_match:.3f}"
            for c in worse
        ]
        return False, "the new model is worse " + "; ".join(parts)
    return True, "the new model is not worse on " + " and ".join(c.name for c in measured)


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.3f}"


def table(comparisons: Sequence[Comparison]) -> list[str]:
    """The before/after table as text lines (the CLI prints them, the GUI shows them)."""
    lines: list[str] = []
    for comp in comparisons:
        title = f"{comp.name} ({comp.images} images)" + (f", {comp.note}" if comp.note else "")
        lines += [title, f"  {'':<26}{'before':>9}{'after':>9}"]
        rows = [
            ("accuracy_multi", comp.old.accuracy_multi, comp.new.accuracy_multi),
            ("exact match", comp.old.exact_match, comp.new.exact_match),
        ]
        lines += [f"  {label:<26}{_fmt(a):>9}{_fmt(b):>9}" for label, a, b in rows]
        lines.append(
            f"  {'would go to uncertain':<26}{comp.old.uncertain:>9}{comp.new.uncertain:>9}"
        )
        for cat in sorted(set(comp.old.f1) | set(comp.new.f1)):
            label = f"F1 {cat}"[:26]
            lines.append(
                f"  {label:<26}{_fmt(comp.old.f1.get(cat)):>9}{_fmt(comp.new.f1.get(cat)):>9}"
            )
    return lines
