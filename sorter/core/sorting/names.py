"""Windows-safe folder and file names, numbered names for collisions, long-path prefixes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sorter.core.model.decide import UNCERTAIN, UNREADABLE

# Names Sorter itself uses in OUT; a category folder may never take one of them.
RESERVED_FOLDERS = (UNCERTAIN, UNREADABLE, "sorter-report.csv")
MAX_FOLDER_CHARS = 64
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
# CONIN$ and CONOUT$ open the console, as CON does (CreateFile's "Consoles" section); COM0 and
# LPT0 are not reserved (Windows' naming page leaves them out; a file com0.c can be created).
_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{p}{i}" for p in ("COM", "LPT") for i in "123456789"
}
# Windows also treats the superscript digits as device numbers (COM¹, LPT²...).
_DEVICE_NAMES |= {f"{p}{d}" for p in ("COM", "LPT") for d in "\u00b9\u00b2\u00b3"}


def is_device_name(name: str) -> bool:
    """True for CON, NUL, COM1, CONIN$... with or without an extension ("con.txt" too)."""
    stem = name.split(".", 1)[0].rstrip(" ")
    return stem.upper() in _DEVICE_NAMES


def safe_folder_name(name: str, max_chars: int = MAX_FOLDER_CHARS) -> str:
    """Turn a category name into a folder name that Windows, macOS and Linux all accept.

    Forbidden characters become "_", trailing dots and spaces go, device names get a "_" suffix
    and the result holds at most `max_chars` characters. An empty result becomes "category".
    """
    text = unicodedata.normalize("NFC", str(name))
    # No leading dot either: a hidden folder would vanish from view (and ".sorter" is ours).
    text = _FORBIDDEN.sub("_", text).strip().lstrip(". ")
    text = text[:max_chars].rstrip(". ") or "category"  # "", "." and ".." all end here
    if is_device_name(text):
        stem, dot, rest = text.partition(".")
        text = f"{stem.rstrip(' ')}_{dot}{rest}"[:max_chars].rstrip(". ")
    return text


def unique_folder_names(categories: Iterable[str]) -> dict[str, str]:
    """Map each category to its own safe folder name, unique without regard to case.

    Names that would clash (case-insensitively) with an earlier category or with Sorter's own
    folders (`uncertain`, `unreadable`) get " (2)", " (3)"... in model order.
    """
    taken = {r.casefold() for r in RESERVED_FOLDERS}
    result: dict[str, str] = {}
    for category in categories:
        if category in result:
            continue
        base = safe_folder_name(category)
        folder, n = base, 1
        while folder.casefold() in taken:
            n += 1
            suffix = f" ({n})"
            folder = base[: MAX_FOLDER_CHARS - len(suffix)].rstrip(". ") + suffix
        taken.add(folder.casefold())
        result[category] = folder
    return result


def numbered_name(filename: str, n: int) -> str:
    """The n-th name for a file when earlier ones are taken: ("a.jpg", 2) -> "a (2).jpg"."""
    if n <= 1:
        return filename
    stem, dot, ext = filename.rpartition(".")
    if not dot or not stem:  # "README" or ".hidden": no extension to keep apart
        return f"{filename} ({n})"
    return f"{stem} ({n}).{ext}"


def safe_file_name(name: str, max_bytes: int = 240) -> str:
    """A file name Windows accepts, keeping the extension; at most `max_bytes` UTF-8 bytes.

    The margin under the usual 255-byte limit leaves room for " (12)" collision numbers.
    """
    text = _FORBIDDEN.sub("_", unicodedata.normalize("NFC", name)).rstrip(". ") or "image"
    if is_device_name(text):
        stem, dot, rest = text.partition(".")
        text = f"{stem.rstrip(' ')}_{dot}{rest}"
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = text, ""
    budget = max_bytes - len(ext.encode("utf-8")) - (1 if ext else 0)
    stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(". ") or "image"
    return f"{stem}.{ext}" if ext else stem
