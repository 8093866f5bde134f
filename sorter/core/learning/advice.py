"""What to tell someone who queues a correction by hand (`sorter queue add`).

A retrain improves the current model. A photo sorted with another model (`sorter sort --model`)
and a label the current model does not have are both easy to miss from a command line, and both
change what the next retrain does: it would teach the wrong model, or grow a new category next
to one that was meant (say "food" beside "food & drink"). These notes say so before it happens.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sorter.core.errors import SorterError
from sorter.core.learning.versions import DEFAULT, is_stored_version, version_name_of
from sorter.core.sorting.journal import Journal, has_journal
from sorter.core.text import some_of

log = logging.getLogger(__name__)

SHOW_CATEGORIES = 8  # a longer list is cut, with how many more


@dataclass(frozen=True)
class SortedBy:
    """What a Sorter output's journal says of the sort that placed a copy there."""

    categories: list[str]
    model_file: str | None  # None: sorted before Sorter noted it


@dataclass(frozen=True)
class SortedCopy:
    """A copy in a Sorter output: the output, the photo it is a copy of, and the model that
    decides its folders (the sort's, or a later re-sort's)."""

    out: Path
    source: Path
    categories: list[str]  # empty: not known (a correction's own run, or a very old journal)
    model_file: str | None


def sorted_copy(image: str | Path) -> SortedCopy | None:
    """`image` as a copy in a Sorter output folder (read from that folder's journal); None for
    any other file."""
    path = Path(image).absolute()
    out = next((p for p in path.parents if has_journal(p)), None)
    if out is None:
        return None
    try:
        with Journal(out) as journal:
            holders = journal.holders(path.relative_to(out).as_posix())
            if not holders:
                return None
            info = journal.run_info(holders[-1].run_id)
    except (SorterError, OSError) as exc:
        log.info("Could not read the journal of %s: %s", out, exc)
        return None
    resorted = info.get("resorted")
    if isinstance(resorted, dict):  # `sorter resort` (or an update) decided its folders since
        info = resorted
    categories, model = info.get("categories"), info.get("model_file")
    names = [str(c) for c in categories] if isinstance(categories, list) else []
    return SortedCopy(out, Path(holders[-1].source), names, str(model) if model else None)


def sorted_by(image: str | Path) -> SortedBy | None:
    """How `image` was sorted, when it is a copy in a Sorter output folder whose journal names
    the model's categories; None for any other file."""
    found = sorted_copy(image)
    if found is None or not found.categories:
        return None
    return SortedBy(found.categories, found.model_file)


def model_label(name: str) -> str:
    """How a note names a model: "the built-in default model", "version v3" or its file."""
    if name == DEFAULT:
        return "the built-in default model"
    if is_stored_version(name):
        return f"version {name}"
    return name


def correction_notes(
    image: str | Path,
    labels: Sequence[str],
    model_name: str,
    categories: Sequence[str],
    exclusive: bool = False,
) -> list[str]:
    """Notes on queueing `image` with `labels` when the current model (called `model_name`,
    see model_label) has `categories` (`exclusive`: it is single-label): empty when the next
    retrain does what one expects."""
    notes = []
    known = list(categories)
    found = sorted_by(image)
    if found is not None and set(found.categories) != set(known):
        name = version_name_of(found.model_file) if found.model_file else None
        gone = name != DEFAULT and found.model_file and not Path(found.model_file).is_file()
        remedy = (
            "the model that sorted this photo no longer exists (deleted or moved)"
            if gone
            else f"to teach the one that sorted this photo, {_remedy(found.model_file, name)}"
        )
        notes.append(
            f"{Path(image).name} was sorted by {model_label(name) if name else 'another model'} "
            f"(categories: {some_of(found.categories, SHOW_CATEGORIES)}), not by the current one, "
            f"{model_label(model_name)}. `sorter retrain` improves the current model: {remedy}."
        )
    if exclusive and len(labels) > 1:
        notes.append(
            f"The current model ({model_label(model_name)}) is single-label, one folder per "
            f"image: a correction with {len(labels)} categories teaches it a share of each. To "
            "teach it one, name that one alone."
        )
    for label in labels:
        if label not in known:
            near = nearest_category(label, known)
            hint = f" Did you mean '{near}'?" if near else ""
            notes.append(
                f"'{label}' is not a category of {model_label(model_name)}, so the next retrain "
                f"adds it as a new category.{hint}"
            )
    return notes


def _remedy(model_file: str | None, name: str | None) -> str:
    """The commands that make the model of `model_file` (`name`: its version_name_of) the one
    a retrain teaches."""
    if name is not None and (name == DEFAULT or is_stored_version(name)):
        return f"make it current first (`sorter models use {name}`)"
    quoted = f'"{model_file}"' if model_file else "ITS_FILE.pth"
    return (
        f"make it current first (`sorter models use {quoted}`) or run "
        f"`sorter retrain --model {quoted}`"
    )


def nearest_category(label: str, categories: Sequence[str]) -> str | None:
    """A category the user may have meant: one holding the label as a word, or spelt alike."""
    lowered = {c.lower(): c for c in categories}
    text = label.strip().lower()
    for low, name in lowered.items():
        if text and text in low.replace("&", " ").split():
            return name
    close = difflib.get_close_matches(text, list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None
