"""Per-image choices made by hand in the preview, laid over a plan the thresholds decided."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from sorter.core.model.decide import UNCERTAIN
from sorter.core.sorting.plan import PlanItem, SortPlan

log = logging.getLogger(__name__)


def apply_overrides(plan: SortPlan, overrides: Mapping[Path, str]) -> SortPlan:
    """`plan` with each overridden image sent to the one category (or uncertain) chosen for it.

    Unreadable images and names the plan does not know are left as planned: a hand-made choice
    never invents a folder. Pure: the given plan is not changed.
    """
    if not overrides:
        return plan
    items = [_override(plan, item, overrides.get(item.source)) for item in plan.items]
    return replace(plan, items=items)


def _override(plan: SortPlan, item: PlanItem, choice: str | None) -> PlanItem:
    if choice is None or item.scores is None:
        return item
    if choice == UNCERTAIN:
        return replace(item, categories=[], folders=[UNCERTAIN])
    if choice not in plan.folder_names:
        log.warning("Ignoring a move of %s into unknown category %r", item.source, choice)
        return item
    return replace(item, categories=[choice], folders=[plan.folder_names[choice]])


def images_in(plan: SortPlan, label: str) -> list[Path]:
    """Every image the plan puts under `label` (a category, uncertain or unreadable)."""
    return [item.source for item in plan.items if label in item.labels]
