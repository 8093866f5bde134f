"""A new, empty examples folder: one sub-folder per category the user names, to fill with
photos before training (for someone who has not made the folders themselves)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from sorter.core.sorting.names import numbered_name, unique_folder_names
from sorter.core.training.data import TrainingDataError

EXAMPLES_FOLDER = "Sorter examples"
_SEPARATORS = re.compile(r"[,;\n]+")


def parse_category_names(text: str) -> list[str]:
    """ "chairs, tables; lamps" -> ["chairs", "tables", "lamps"]: commas, semicolons or new
    lines separate names; blanks and repeats (in any case) go."""
    names: list[str] = []
    seen: set[str] = set()
    for part in _SEPARATORS.split(text):
        name = " ".join(part.split())
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return names


def make_examples_folder(parent: Path, names: Sequence[str]) -> Path:
    """Create `parent/Sorter examples` (numbered when taken: an existing folder is never used
    or changed) holding an empty folder per category (Windows-safe names); return it.

    Raises:
        TrainingDataError: fewer than two names (a model tells categories apart).
        OSError: the folders cannot be created (no permission, disk full).
    """
    if len(names) < 2:
        raise TrainingDataError(
            "Name at least two categories, separated by commas: a model learns to tell "
            "categories apart."
        )
    n = 1
    while True:
        folder = parent / numbered_name(EXAMPLES_FOLDER, n)
        try:
            folder.mkdir(parents=True)
            break
        except FileExistsError:
            n += 1
    for sub in unique_folder_names(names).values():
        (folder / sub).mkdir()
    return folder
