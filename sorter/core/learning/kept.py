"""Kept images: copies an earlier sort placed confidently that the user left where they were.

They are a retrain's memory of what already works. A copy counts only while it is still in
its category folder, byte for byte what Sorter wrote (size and SHA-256 as the journal
recorded), was placed with a clear margin over the runner-up, and was never corrected, by a
sort whose categories the retrained model all has (itself or an earlier version of it).
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sorter.core.errors import SorterError
from sorter.core.files import file_sha256
from sorter.core.sorting.journal import DONE, UNDONE, Journal, has_journal

log = logging.getLogger(__name__)

# A retrain learns from at most this many kept images per category, drawn at random (seeded)
# from all the outputs: enough to anchor each category, few enough that reading them stays a
# few seconds on a CPU, and balanced so a category the user sorts a lot cannot crowd out others.
KEPT_PER_CATEGORY = 20
# Only images whose chosen categories beat every other category's score by this much: a
# placement the model was sure of and the user did not change is very likely right (a close
# call the user merely did not look at is not evidence).
KEPT_MARGIN = 0.3


@dataclass(frozen=True)
class KeptImage:
    """One kept copy: where it is now, and the categories whose folders hold it."""

    path: Path
    labels: tuple[str, ...]
    sha256: str
    size: int
    margin: float


def kept_images(
    outputs: Iterable[Path],
    categories: Sequence[str],
    corrected: set[str],
    *,
    per_category: int = KEPT_PER_CATEGORY,
    seed: int = 42,
) -> list[KeptImage]:
    """Kept images of `categories` in the sorted `outputs`, capped and balanced per category.

    `corrected` holds the SHA-256 of every corrected image: those are never kept images.
    """
    found: dict[str, KeptImage] = {}
    for out in dict.fromkeys(Path(o) for o in outputs):
        for image in _candidates(out, set(categories)):
            if image.sha256 not in corrected:
                found.setdefault(image.sha256, image)
    return _balanced(list(found.values()), per_category, seed)


def _candidates(out: Path, known: set[str]) -> list[KeptImage]:
    """Every confident, still-present copy in OUT whose categories are all in `known`."""
    if not has_journal(out):
        return []  # not (or no longer) a sorted output: nothing to open, nothing created
    try:
        with Journal(out) as journal:
            return [
                image
                for run in journal.runs()
                if run.state != UNDONE
                for image in _run_candidates(journal, run.id, known)
            ]
    except (SorterError, OSError) as exc:
        log.warning("Not learning from the kept images in %s: %s", out, exc)
        return []


def _run_candidates(journal: Journal, run_id: int, known: set[str]) -> list[KeptImage]:
    info = journal.run_info(run_id)
    names: list[str] = info.get("categories") or []
    resorted = info.get("resorted")
    now: list[str] = (resorted.get("categories") or []) if isinstance(resorted, dict) else []
    if not set(names) <= known or not set(now) <= known:
        # Another model's sort (say `sorter sort --model` with a model of other categories):
        # its "animals" need not be this model's, and its margins are not this model's doubts.
        # Earlier versions of this model qualify: a retrain keeps every category it had. The
        # same holds for the model of a later re-sort, which moved the copies that disagreed.
        return []
    _, items, _ = journal.load_plan(run_id)  # read only for a run of this model's line
    ops = journal.db.execute(
        "SELECT seq, folder, dest, sha256, size FROM ops WHERE run_id=? AND state=?",
        (run_id, DONE),
    )
    copies: dict[int, dict[str, tuple[str, str, int]]] = defaultdict(dict)
    for seq, folder, dest, sha, size in ops:
        copies[seq][folder] = (dest, sha, size)
    found = []
    for seq, (_, folders, error, chosen, scores) in enumerate(items):
        if error or not chosen or not set(chosen) <= known or len(scores or []) != len(names):
            continue  # uncertain, unreadable, a relabel's run (no scores), another model's
        margin = _margin(scores, names, chosen)
        placed = [copies[seq].get(folder) for folder in folders]
        if margin < KEPT_MARGIN or not placed or any(p is None or not p[1] for p in placed):
            continue
        dest, sha, size = placed[0]  # type: ignore[misc]  # None ruled out just above
        path = journal.out / dest
        if _size(path) == size:
            found.append(KeptImage(path, tuple(chosen), sha, size, margin))
    return found


def _margin(scores: list[float], names: list[str], chosen: list[str]) -> float:
    """The lowest chosen score minus the highest other one (the whole lowest one if none)."""
    index = {n: i for i, n in enumerate(names)}
    picked = min(scores[index[c]] for c in chosen if c in index) if chosen else 0.0
    others = [s for n, s in zip(names, scores, strict=True) if n not in chosen]
    return float(picked - max(others, default=0.0))


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


def _balanced(images: list[KeptImage], per_category: int, seed: int) -> list[KeptImage]:
    """Up to `per_category` per (first) category, at random; each one hashed before it counts,
    so a copy edited since sorting (same size, other content) is left out."""
    by_category: dict[str, list[KeptImage]] = defaultdict(list)
    for image in sorted(images, key=lambda i: (str(i.path), i.sha256)):
        by_category[image.labels[0]].append(image)
    chosen = []
    for name in sorted(by_category):
        pool = by_category[name]
        random.Random(f"{seed}:{name}").shuffle(pool)
        chosen += _first_unchanged(pool, per_category)
    return chosen


def _first_unchanged(pool: list[KeptImage], limit: int) -> list[KeptImage]:
    taken = []
    for image in pool:
        if len(taken) == limit:
            break
        try:
            if file_sha256(image.path) == image.sha256:
                taken.append(image)
        except OSError:
            continue  # gone or unreadable since it was listed
    return taken


def describe_kept(images: Sequence[KeptImage]) -> str:
    """A note for the retrain report: how many kept images, of how many categories."""
    counts: dict[str, int] = defaultdict(int)
    for image in images:
        counts[image.labels[0]] += 1
    per = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    return f"Learning from {len(images)} kept image(s) of earlier sorts ({per})."
