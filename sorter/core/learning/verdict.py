"""The promotion decision on a retrain's comparisons, and the figures in words and as a table."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sorter.core.learning.evaluate import LEARN, Comparison
from sorter.core.text import some_of


def verdict(comparisons: Sequence[Comparison], forgotten: Sequence[str] = ()) -> tuple[bool, str]:
    """(promote, why): better on the corrected images (role LEARN, judged out of training) and
    not worse beyond noise on every other set (kept images, original validation).

    Below MIN_JUDGED corrections, "better" may instead be: every corrected image right once
    learned, none broken out of fold (Comparison.learned_all_few).

    When no corrected image could be judged (one correction; full mode's few), the other sets
    alone decide, and the reason says so. `forgotten` are categories the old model knew and
    the new one had no example of: no evaluation can vouch for them, so no promotion.
    """
    if forgotten:
        names = some_of(forgotten, 5)
        return False, (
            f"the new model would forget {len(forgotten)} categor"
            f"{'y' if len(forgotten) == 1 else 'ies'} that no training image or correction shows"
            f" ({names}); correct some images of them"
        )
    measured = [c for c in comparisons if c.images]
    if not measured:
        return False, "there were no images to evaluate the new model on"
    figures = "; ".join(describe(c) for c in measured)
    learn = [c for c in measured if c.role == LEARN]
    worse = [c for c in measured if c.role != LEARN and c.worse]
    if worse:
        names = " and ".join(c.name for c in worse)
        return False, f"the new model is worse on {names} beyond noise ({figures})"
    if learn and not all(c.better or c.learned_all_few for c in learn):
        return False, f"the new model is not better on {learn[0].name} ({figures})"
    if any(not c.better for c in learn):
        return True, (
            f"too few corrections ({learn[0].images}) for cross-validation to show a gain, but"
            f" the new model sorts them all right, is no worse on them out of fold, and not worse"
            f" elsewhere ({figures})"
        )
    if not learn:
        return True, (
            f"the new model is not worse on {' and '.join(c.name for c in measured)} "
            f"({figures}); too few corrections to judge it on images it did not learn from"
        )
    return True, f"the new model is better on {learn[0].name} and not worse elsewhere ({figures})"


def describe(comp: Comparison) -> str:
    """One set's figures in words, e.g. "held-out corrections: 0 -> 2 of 3 right"."""
    f = comp.flips
    if f is None:
        return (
            f"{comp.name}: exact {comp.old.exact_match:.3f} -> {comp.new.exact_match:.3f} "
            f"of {comp.images}"
        )
    text = f"{comp.name}: {f.old_right} -> {f.new_right} of {comp.images} right"
    if comp.learned is not None:
        text += f" ({comp.learned} right once learned)"
    if comp.role == LEARN and f.old_right == f.new_right and not math.isnan(f.new_true):
        text += (
            f", true-category score {f.old_true:.2f} -> {f.new_true:.2f}"
            f" (higher for {f.rose}, lower for {f.fell})"
        )
    if comp.role != LEARN and f.broken:
        noise = "beyond noise" if comp.worse else "within noise"
        allowed = f", {comp.forgiven} allowed as presumed labels" if comp.forgiven else ""
        text += f", {f.broken} broken against {f.fixed} fixed ({noise}{allowed})"
    return text


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
        if comp.flips is not None:
            f = comp.flips
            lines.append(f"  {'images right':<26}{f.old_right:>9}{f.new_right:>9}")
            lines.append(f"  {'fixed / broken':<26}{f.fixed:>9}{f.broken:>9}")
        for cat in sorted(set(comp.old.f1) | set(comp.new.f1)):
            label = f"F1 {cat}"[:26]
            lines.append(
                f"  {label:<26}{_fmt(comp.old.f1.get(cat)):>9}{_fmt(comp.new.f1.get(cat)):>9}"
            )
    return lines
