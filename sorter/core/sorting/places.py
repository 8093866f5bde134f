"""Where a sort's copies go by default, for a folder, a drive or card, or items from many places.

The rules are pure functions of paths (any flavour, so Windows cases are tested on Linux); the
helpers after default_out_for look at the real file system. Also: is an output under OneDrive?
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath

from sorter import appdirs
from sorter.core.sorting.names import safe_folder_name

SORTED_PHOTOS = "Sorted photos"  # for items from different drives: no one place to name
# Set by the OneDrive client to its folders (personal, and work or school).
ONEDRIVE_VARIABLES = ("OneDrive", "OneDriveConsumer", "OneDriveCommercial")


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


def onedrive_folder(path: PurePath, env: Mapping[str, str] | None = None) -> PurePath | None:
    """The OneDrive folder that holds PATH, or None.

    Known by the OneDrive client's variables (ONEDRIVE_VARIABLES) or, where none names it, by a
    folder called "OneDrive" or "OneDrive - <organisation>" (compared as the path flavour does).
    """
    env = os.environ if env is None else env
    for name in ONEDRIVE_VARIABLES:
        root = type(path)(env[name]) if env.get(name) else None
        if root is not None and root.is_absolute() and path.is_relative_to(root):
            return root
    for folder in (path, *path.parents):
        name = folder.name.casefold()
        if name == "onedrive" or name.startswith("onedrive - "):
            return folder
    return None


def onedrive_warning(out: PurePath, env: Mapping[str, str] | None = None) -> str | None:
    """One sentence when the output folder lies under OneDrive, else None."""
    root = onedrive_folder(out, env)
    if root is None:
        return None
    return (
        f"The copies go into OneDrive ({root}): each one is uploaded, and photos kept online "
        "only are downloaded first, so a folder outside OneDrive is faster and uses no cloud space."
    )
