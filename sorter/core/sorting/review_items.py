"""The images of one sort under review: where each went, what the user says instead."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sorter.core.model.decide import UNCERTAIN, top_scores
from sorter.core.sorting.plan import SortPlan
from sorter.core.sorting.report import MOVED, SortSummary


@dataclass
class ReviewItem:
    """One image under review: where the sort put it and what the user says instead."""

    path: Path
    scores: list[float]
    folders: list[str]  # where it is in the output now (categories, or uncertain)
    pending: list[str] | None = None  # labels toggled with number keys, not saved yet
    saved: bool = False
    picture: Path | None = None  # its copy in OUT, once a move took the source away

    @property
    def shown(self) -> Path:
        """The file its pictures are read from: the source, or its copy after a move."""
        return self.picture or self.path

    def why(self, categories: list[str]) -> str:
        """ "chair 0.42, stool 0.38": the scores that explain the decision."""
        return ", ".join(f"{n} {s:.2f}" for n, s in top_scores(self.scores, categories, k=2))

    def score_map(self, categories: list[str]) -> dict[str, float]:
        return dict(zip(categories, self.scores, strict=True))

    def mark_saved(self, labels: list[str], picture: Path | None = None) -> None:
        """The correction is saved: the image is now in these folders (none: uncertain);
        `picture` is its copy there when the source was moved away."""
        self.folders = list(labels) or [UNCERTAIN]
        self.pending = None
        self.saved = True
        if picture is not None:
            self.picture = picture


@dataclass
class ReviewSet:
    """Every reviewable image of one sort, plus the categories in model order."""

    categories: list[str]
    items: list[ReviewItem] = field(default_factory=list)
    exclusive: bool = False  # a single-label model: one category per image, corrections too

    def in_folder(self, folder: str) -> list[ReviewItem]:
        """Items shown for a folder choice, least certain first ("" means all)."""
        if folder in ("", None):
            chosen = list(self.items)
        else:
            chosen = [i for i in self.items if folder in i.folders]
        return sorted(chosen, key=lambda i: self._certainty(i, folder))

    def _certainty(self, item: ReviewItem, folder: str) -> float:
        if folder in self.categories:
            return item.scores[self.categories.index(folder)]
        return max(item.scores, default=0.0)

    def folder_counts(self) -> dict[str, int]:
        """Images per folder: uncertain, the model's categories, then categories made in a
        correction (in the order they were first used)."""
        counts = dict.fromkeys([UNCERTAIN, *self.categories], 0)
        for item in self.items:  # one pass: a review may hold thousands of images
            for name in item.folders:
                counts[name] = counts.get(name, 0) + 1
        return counts


def review_set(
    plan: SortPlan, summary: SortSummary | None = None, *, exclusive: bool = False
) -> ReviewSet:
    """The images a copied plan put into folders (unreadable ones were not copied). With the
    run's summary, an image whose source a move took away is shown from its first copy.
    `exclusive`: the plan's model is single-label."""
    moved = {}
    if summary is not None and summary.moved:  # from the outcomes: no disk access per image
        out = Path(summary.out)
        moved = {
            o.source: out / o.destinations[0]
            for o in summary.outcomes
            if o.destinations and o.status == MOVED
        }
    items = [
        ReviewItem(
            item.source, list(item.scores), list(item.labels), picture=moved.get(item.source)
        )
        for item in plan.items
        if item.scores is not None
    ]
    return ReviewSet(list(plan.categories), items, exclusive)


def toggle_category(items: list[ReviewItem], category: str, exclusive: bool = False) -> None:
    """A number key on a selection: if any image lacks the category, every one gets it; else
    every one loses it. Uncertain goes as soon as a label is chosen; nothing is saved yet.

    `exclusive` (a single-label model, which puts each image in one folder): the category
    replaces whatever the image had."""
    current = [i.pending if i.pending is not None else list(i.folders) for i in items]
    add = any(category not in labels for labels in current)
    for item, labels in zip(items, current, strict=True):
        labels = [] if exclusive else [x for x in labels if x not in (UNCERTAIN, category)]
        item.pending = [*labels, category] if add else labels
