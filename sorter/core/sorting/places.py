"""Where a sort's copies go by default, for a folder, a drive or card, or items from many places.

The rules are pure functions of paths (any flavour, so Windows cases are tested on Linux); the
two helpers at the end look at the real file system.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path, PurePath

from sorter import appdirs
from sorter.core.sorting.names import safe_folder_name

SORTED_PHOTOS = "Sorted photos"  # for items from different drives: no one place to name


def is_drive_root(path: PurePath) -> bool:
    """`D:\\`, `\\\\server\\share\\` or `/`: a folder with no name, so nothing can go beside it."""
    return path.name == ""


def drive_label(path: PurePath) -> str:
    """A drive root's name: "D" for `D:\\`, "share" for `\\\\server\\share\\`, "" for `/`."""
    parts = [p for p in re.split(r"[\\/]", path.drive) if p]
    return parts[-1].rstrip(":") if parts else ""


def common_folder(folders: Sequence[PurePath]) -> PurePath | None:
    """The deepest folder holding every one of them; None when they lie on different drives.

    Compares as the path flavour does (without regard to case on Windows), where
    `os.path.commonpath` would raise ValueError for two drives.
    """
    first = folders[0]
    for candidate in (first, *first.parents):
        if all(folder.is_relative_to(candidate) for folder in folders):
            return candidate
    return None


def default_out_for(root: PurePath | None, pictures: PurePath, *, drive: bool = False) -> PurePath:
    """The output folder proposed for sorting ROOT.

    "<ROOT> (sorted)" beside it; for a drive, share or card (ROOT has no name, or `drive` says it
    is a mount point), "<Pictures>/Sorted from <name>"; for items from different drives (ROOT is
    None), "<Pictures>/Sorted photos".
    """
    if root is None:
        return pictures / SORTED_PHOTOS
    if not (drive or is_drive_root(root)):
        return root.with_name(f"{root.name} (sorted)")
    label = root.name or drive_label(root)
    return pictures / (f"Sorted from {safe_folder_name(label)}" if label else SORTED_PHOTOS)


def is_drive(path: Path) -> bool:
    """A drive root, a share or a mounted card (its parent belongs to another file system)."""
    return is_drive_root(path) or os.path.ismount(path)


def default_out(src: Path) -> Path:
    """default_out_for() of a real, absolute folder, with the user's Pictures folder."""
    return Path(default_out_for(src, appdirs.pictures_dir(), drive=is_drive(src)))
