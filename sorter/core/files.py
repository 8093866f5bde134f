"""File basics every layer shares: which names are images, long Windows paths, content hashes."""

from __future__ import annotations

import hashlib
import os
from pathlib import PureWindowsPath

# Every suffix Sorter opens as an image (HEIC/HEIF through pillow-heif).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif"}
)
WINDOWS_MAX_PATH = 260
CHUNK = 1 << 20


def long_path(path: str | os.PathLike[str], windows: bool | None = None) -> str:
    """The path as a string that the OS accepts even when long.

    On Windows, absolute paths of 260 characters or more get the `\\\\?\\` prefix (UNC shares get
    `\\\\?\\UNC\\`), which lifts the MAX_PATH limit. Elsewhere the path is returned unchanged.
    """
    text = os.fspath(path)
    if windows is None:
        windows = os.name == "nt"
    if not windows or len(text) < WINDOWS_MAX_PATH or text.startswith("\\\\?\\"):
        return text
    win = PureWindowsPath(text)
    if not win.is_absolute():
        return text  # only absolute paths may take the prefix; callers pass absolute ones
    text = str(win)  # normalises "/" to "\\"; the prefix turns off that normalisation later
    if text.startswith("\\\\"):
        return "\\\\?\\UNC\\" + text[2:]
    return "\\\\?\\" + text


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
