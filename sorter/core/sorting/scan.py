"""Find the images under a folder: recursive, stable order, safe with links and hidden files."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from sorter.core.errors import BadPathError
from sorter.core.files import IMAGE_SUFFIXES, long_path

log = logging.getLogger(__name__)

SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", "ehthumbs.db", ".ds_store", "icon\r"})
SYSTEM_FOLDERS = frozenset({"$recycle.bin", "system volume information", "@eadir", "__macosx"})
_HIDDEN_ATTRS = getattr(stat, "FILE_ATTRIBUTE_HIDDEN", 2) | getattr(
    stat, "FILE_ATTRIBUTE_SYSTEM", 4
)


@dataclass
class ScanResult:
    """What a scan found: the images to sort (sorted) and what it left out, with the reason."""

    src: Path
    images: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def is_image_name(name: str) -> bool:
    # Windows ignores trailing dots and spaces ("a.jpg. " is a.jpg), so the test does too.
    return os.path.splitext(name.rstrip(". "))[1].lower() in IMAGE_SUFFIXES


def printable_name(name: str) -> str:
    """A name as text that can be stored, printed and reported: bytes that are not valid in the
    file system's encoding (on Linux, surrogate escapes) become \\xNN escapes."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _odd_name_reason(entry: os.DirEntry[str]) -> str | None:
    """Why an entry whose name is not valid text is left out; None when not worth reporting.

    Such a name cannot be written to the journal or the report, so the entry is skipped and
    reported under its printable name, instead of stopping the whole run.
    """
    try:
        is_dir = entry.is_dir(follow_symlinks=True)
    except OSError:
        is_dir = False
    if is_dir:
        return "folder name is not valid text; rename the folder to sort the images in it"
    if is_image_name(entry.name):
        return "file name is not valid text; rename the file to sort it"
    return None  # not an image: nothing to report


def _hidden_reason(entry: os.DirEntry[str]) -> str | None:
    name = entry.name
    if name.startswith("."):
        return "hidden file"
    if name.casefold() in SYSTEM_FILES or name.casefold() in SYSTEM_FOLDERS:
        return "system file"
    try:
        attrs = getattr(entry.stat(follow_symlinks=False), "st_file_attributes", 0)
    except OSError:
        return None
    if attrs & _HIDDEN_ATTRS:  # only Windows fills st_file_attributes
        return "hidden or system file (Windows attribute)"
    return None


def check_paths(src: str | os.PathLike[str], out: str | os.PathLike[str] | None) -> Path:
    """Resolve SRC and refuse unusable SRC/OUT pairs with a clear BadPathError."""
    src_path = Path(os.path.abspath(Path(src).expanduser()))  # resumable from any cwd
    if not src_path.exists():
        raise BadPathError(f"The folder {src_path} does not exist.")
    if not src_path.is_dir():
        raise BadPathError(f"{src_path} is a file, not a folder: give the folder to sort.")
    if out is not None:
        out_path = Path(out).expanduser()
        if out_path.exists() and not out_path.is_dir():
            raise BadPathError(f"The output {out_path} is a file, not a folder.")
        if _same_place(src_path, out_path):
            raise BadPathError(
                f"The output folder is the source folder ({src_path}); choose another output."
            )
        if _is_within(src_path.resolve(), out_path.resolve()):
            raise BadPathError(f"The output folder {out_path} cannot hold the source {src_path}.")
    return src_path


def _same_place(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)  # catches case-insensitive and other aliases
    except OSError:
        return False


def _is_within(child: Path, parent: Path) -> bool:
    return child != parent and child.is_relative_to(parent)


def scan(src: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> ScanResult:
    """Every image under SRC, in a stable order (sorted by path).

    Skips OUT when it lies inside SRC, hidden and system files, and never loops: a folder
    reached through links is entered once, by its resolved path.

    Raises:
        BadPathError: SRC is missing or not a folder, or SRC and OUT are the same folder.
    """
    src_path = check_paths(src, out)
    result = ScanResult(src=src_path)
    out_real = Path(out).resolve() if out is not None else None
    seen_dirs: set[str] = set()
    links: list[Path] = []
    stack = [src_path]
    while stack:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in seen_dirs:
            result.skipped.append((folder, "folder already scanned through a link"))
            continue
        seen_dirs.add(real)
        subfolders = _scan_one(folder, result, links, out_real)
        stack.extend(reversed(subfolders))
    _add_linked(result, links)
    result.images.sort()
    result.skipped.sort()
    log.info("Scanned %s: %d images, %d skipped", src_path, len(result.images), len(result.skipped))
    return result


def _scan_one(
    folder: Path, result: ScanResult, links: list[Path], out_real: Path | None
) -> list[Path]:
    """Sort one folder's entries into result; return its subfolders to visit."""
    try:
        entries = sorted(os.scandir(long_path(folder)), key=lambda e: e.name)
    except OSError as exc:
        result.skipped.append((folder, f"folder cannot be read: {exc.strerror or exc}"))
        return []
    subfolders = []
    for entry in entries:
        if not _is_text(entry.name):
            odd = _odd_name_reason(entry)
            if odd:
                result.skipped.append((folder / printable_name(entry.name), odd))
            continue
        path = folder / entry.name  # without the long-path prefix scandir may have been given
        reason = _hidden_reason(entry)
        if reason:
            result.skipped.append((path, reason))
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
            is_file = not is_dir and entry.is_file(follow_symlinks=True)
        except OSError as exc:  # a symlink loop to itself raises ELOOP here
            result.skipped.append((path, f"cannot be followed: {exc.strerror or exc}"))
            continue
        if is_dir:
            if out_real is not None and Path(os.path.realpath(path)) == out_real:
                result.skipped.append((path, "the output folder"))
            else:
                subfolders.append(path)
        elif is_file and is_image_name(entry.name):
            (links if entry.is_symlink() else result.images).append(path)
        elif entry.is_symlink() and not is_file and is_image_name(entry.name):
            result.skipped.append((path, "broken link"))
    return subfolders


def _add_linked(result: ScanResult, links: list[Path]) -> None:
    """Add images reached through file links, unless the same file is already included."""
    if not links:
        return
    known: set[tuple[int, int]] = set()
    for path in result.images:
        try:
            st = path.stat()
            known.add((st.st_dev, st.st_ino))
        except OSError:
            pass
    for path in sorted(links):
        try:
            st = path.stat()
        except OSError as exc:
            result.skipped.append((path, f"cannot be followed: {exc.strerror or exc}"))
            continue
        if (st.st_dev, st.st_ino) in known:
            result.skipped.append((path, "link to a file already included"))
            continue
        known.add((st.st_dev, st.st_ino))
        result.images.append(path)
