"""File basics every layer shares: which names are images, long Windows paths, content hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import PureWindowsPath

# Every suffix Sorter opens as an image (HEIC/HEIF through pillow-heif).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif"}
)
WINDOWS_MAX_PATH = 260
# CreateDirectoryW refuses paths from MAX_PATH - 12 characters (room for an 8.3 name inside).
WINDOWS_MAX_FOLDER = WINDOWS_MAX_PATH - 12
CHUNK = 1 << 20


def long_path(
    path: str | os.PathLike[str], windows: bool | None = None, *, folder: bool = False
) -> str:
    """The path as a string that the OS accepts even when long.

    On Windows, absolute paths of 260 characters or more (248 for a folder to be created: pass
    `folder=True`) get the `\\\\?\\` prefix (UNC shares get `\\\\?\\UNC\\`), which lifts the
    MAX_PATH limit. Elsewhere the path is returned unchanged.
    """
    text = os.fspath(path)
    if windows is None:
        windows = os.name == "nt"
    limit = WINDOWS_MAX_FOLDER if folder else WINDOWS_MAX_PATH
    if not windows or len(text) < limit or text.startswith("\\\\?\\"):
        return text
    win = PureWindowsPath(text)
    if not win.is_absolute():
        return text  # only absolute paths may take the prefix; callers pass absolute ones
    text = str(win)  # normalises "/" to "\\"; the prefix turns off that normalisation later
    if text.startswith("\\\\"):
        return "\\\\?\\UNC\\" + text[2:]
    return "\\\\?\\" + text


def clean_path_arg(text: str, windows: bool | None = None) -> str:
    """A path from the command line as the user meant it: on Windows a trailing `"` becomes `\\`.

    Windows programs split their command line by the C runtime's rules, where `\\"` is an
    escaped quote: `"D:\\"` (Explorer's `"%V"` for a drive, or typed in cmd) arrives as `D:"`.
    No Windows name holds a `"`, so a trailing one can only be that swallowed backslash.
    """
    if windows is None:
        windows = os.name == "nt"
    if windows and text.endswith('"'):
        return text[:-1] + "\\"
    return text


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's content, read in 1 MiB chunks (long Windows paths work).

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(long_path(os.path.abspath(path)), "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_stamp(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(size, mtime in ns) of a file: which version of it cached scores belong to; None if it
    cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace a file's content all at once: readers see the old file or the new, never half.

    The bytes go to a temporary file with a unique name in the same folder, are flushed to disk,
    then renamed over the target, so concurrent writers never trip over each other's temp file.

    Raises:
        OSError: the folder cannot be written (the target is then left as it was).
    """
    target = os.path.abspath(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                               dir=os.path.dirname(target))  # fmt: skip
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _replace(tmp: str, target: str, tries: int = 50) -> None:
    # Windows refuses to replace a file another process has open for a moment (a reader)
    for attempt in range(tries):
        try:
            os.replace(tmp, target)
            return
        except PermissionError:
            if os.name != "nt" or attempt == tries - 1:
                raise
            time.sleep(0.01)
