"""Safe file placement: temporary name then rename, no overwrite, identical-content skip, undo."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sorter.core.errors import OutOfSpaceError
from sorter.core.files import CHUNK, file_sha256, long_path
from sorter.core.sorting.names import numbered_name, safe_file_name

log = logging.getLogger(__name__)

TEMP_PREFIX = ".sorter-tmp-"
TEMP_SUFFIX = ".part"
_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_DISK_FULL_WINERRORS = {39, 112}  # ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL
MAX_NUMBER = 10_000

# How placed content got there: a new copy, a hard link, or identical content already present.
COPIED, LINKED, IDENTICAL = "copied", "linked", "identical"


@dataclass(frozen=True)
class Placed:
    """Where a file ended and how: `status` is COPIED, LINKED or IDENTICAL (nothing written)."""

    dest: Path
    status: str
    sha256: str
    size: int


def _p(path: str | os.PathLike[str]) -> str:
    return long_path(os.path.abspath(path))


def make_folders(path: str | os.PathLike[str]) -> None:
    """`mkdir -p` that also works for long Windows paths (the prefix from 248 characters).

    Raises:
        FileExistsError: a file stands where a folder should be.
        OSError: the folder cannot be created.
    """
    os.makedirs(long_path(os.path.abspath(path), folder=True), exist_ok=True)


def folder_exists(path: str | os.PathLike[str]) -> bool:
    """os.path.exists for a folder path that may be long on Windows."""
    return os.path.exists(long_path(os.path.abspath(path), folder=True))


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in _DISK_FULL_ERRNOS or getattr(exc, "winerror", None) in _DISK_FULL_WINERRORS


def _copy_bytes(source: Path, tmp: str) -> str:
    """Copy source into a new file `tmp`, flushed to disk; return the content hash."""
    digest = hashlib.sha256()
    with open(_p(source), "rb") as fin, open(tmp, "xb") as fout:
        while chunk := fin.read(CHUNK):
            digest.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())  # so a power cut cannot leave a renamed but empty file
    st = os.stat(_p(source))
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))  # keep the photo's times
    return digest.hexdigest()


def _link_or_copy(source: Path, tmp: str, want_link: bool) -> tuple[str, str | None]:
    """Hard-link (when asked and possible) or copy into tmp; return (status, hash if copied)."""
    if want_link:
        try:
            os.link(_p(source), tmp)
            return LINKED, None
        except OSError as exc:  # other volume, FAT, no permission: a copy will do
            log.debug("No hard link for %s (%s); copying", source, exc)
    return COPIED, _copy_bytes(source, tmp)


def _commit_name(tmp: str, dest: Path) -> None:
    """Give tmp its final name, never replacing a file that already stands there."""
    target = _p(dest)
    if os.name == "nt":
        os.rename(tmp, target)  # refuses an existing target on Windows
        return
    try:
        os.link(tmp, target)  # refuses an existing target; rename() would replace it
    except FileExistsError:
        raise
    except OSError:  # file systems without hard links (FAT, some shares)
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "File exists", target) from None
        os.rename(tmp, target)
        return
    os.unlink(tmp)


def same_content(a: Path, b: Path, a_sha: str | None = None) -> bool:
    """True when two files hold the same bytes (same file, or same size and hash)."""
    try:
        sa, sb = os.stat(_p(a)), os.stat(_p(b))
    except OSError:
        return False
    if (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino) and sa.st_ino:
        return True
    if sa.st_size != sb.st_size:
        return False
    return (a_sha or file_sha256(a)) == file_sha256(b)


def choose_name(
    source: Path, folder: Path, name: str | None = None, source_sha: str | None = None
) -> tuple[Path, bool]:
    """The first free name for source in folder ("a.jpg", "a (2).jpg", ...).

    Returns (path, identical): identical is True when that path already holds the same content.
    """
    return _free_name(source, folder, name, source_sha, None)


def _fingerprint(path: Path) -> tuple[int, ...] | None:
    """What changes whenever a file is replaced or rewritten (None if it is gone)."""
    try:
        st = os.stat(_p(path))
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _free_name(
    source: Path,
    folder: Path,
    name: str | None,
    source_sha: str | None,
    known: tuple[Path, tuple[int, ...] | None] | None,
) -> tuple[Path, bool]:
    """choose_name, trusting `known` (a file found identical, and its fingerprint then) if the
    file is still untouched, so a second look does not hash it again."""
    base = safe_file_name(name or source.name)
    for n in range(1, MAX_NUMBER):
        candidate = folder / numbered_name(base, n)
        if not os.path.lexists(_p(candidate)):
            return candidate, False
        if known is not None and known[0] == candidate and known[1] == _fingerprint(candidate):
            return candidate, True
        if same_content(source, candidate, source_sha):
            return candidate, True
    raise OSError(errno.EEXIST, f"more than {MAX_NUMBER} files named like {base}", str(folder))


@dataclass(frozen=True)
class Staged:
    """Content made ready in its destination folder under a temporary name, not yet named.

    `tmp` is None when the same content was found already there (status IDENTICAL, nothing
    written); `seen` is then that file and its fingerprint.
    """

    source: Path
    folder: Path
    name: str | None
    link: bool
    tmp: str | None
    status: str
    sha256: str
    size: int
    seen: tuple[Path, tuple[int, ...] | None] | None = None


def _out_of_space(folder: Path) -> OutOfSpaceError:
    return OutOfSpaceError(
        f"The disk holding {folder} is full; nothing partial was left. Free some space "
        "and run the same command again to finish."
    )


def stage_file(
    source: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    name: str | None = None,
    link: bool = False,
    source_sha: str | None = None,
    skip_identical: bool = True,
) -> Staged:
    """The slow half of place_file: copy (or hard-link) source into a flushed temporary file in
    folder. Safe to run on a worker thread: it chooses no final name and only reads the folder.

    With `skip_identical`, a look at the name place_file would pick comes first: when that file
    already holds the same content nothing is written.

    Raises:
        OutOfSpaceError: the disk is full (no partial file is left).
        OSError: the source cannot be read or the folder cannot be written.
    """
    source, folder = Path(source), Path(folder)
    make_folders(folder)
    if skip_identical:
        dest, identical = choose_name(source, folder, name, source_sha)
        if identical:
            seen = (dest, _fingerprint(dest))
            sha = source_sha or file_sha256(dest)
            return Staged(source, folder, name, link, None, IDENTICAL, sha, 0, seen)
    tmp = _p(folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}")
    try:
        status, sha = _link_or_copy(source, tmp, link)
        sha = sha or source_sha or file_sha256(tmp)
        size = os.stat(tmp).st_size
    except BaseException as exc:
        _remove_quietly(tmp)
        if isinstance(exc, OSError) and is_disk_full(exc):
            raise _out_of_space(folder) from exc
        raise
    return Staged(source, folder, name, link, tmp, status, sha, size)


def discard_staged(staged: Staged) -> None:
    """Remove a staged temporary file that will not be committed."""
    if staged.tmp is not None:
        _remove_quietly(staged.tmp)


def commit_staged(staged: Staged, *, before_write: Callable[[Path], None] | None = None) -> Placed:
    """The quick half of place_file: give staged content the first free final name.

    Decides names, so commits into one folder must run one at a time, in the order wanted.
    Same content already at that name: the temporary file is dropped (IDENTICAL).
    `before_write(dest)` runs once the name is chosen, before the name is given.

    Raises:
        OutOfSpaceError: the disk is full (no partial file is left).
        OSError: the folder cannot be written (the temporary file is removed).
    """
    try:
        dest, identical = _free_name(
            staged.source, staged.folder, staged.name, staged.sha256, staged.seen
        )
    except BaseException:
        discard_staged(staged)
        raise
    if identical:
        discard_staged(staged)
        return Placed(dest, IDENTICAL, staged.sha256, os.stat(_p(dest)).st_size)
    if staged.tmp is None:  # the identical file seen while staging is gone: copy after all
        staged = stage_file(
            staged.source, staged.folder, name=staged.name, link=staged.link, skip_identical=False
        )
    try:
        if before_write is not None:
            before_write(dest)
        _commit_name(staged.tmp, dest)
    except BaseException as exc:
        discard_staged(staged)
        if isinstance(exc, OSError) and is_disk_full(exc):
            raise _out_of_space(staged.folder) from exc
        raise
    return Placed(dest, staged.status, staged.sha256, staged.size)


def place_file(
    source: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    *,
    name: str | None = None,
    link: bool = False,
    source_sha: str | None = None,
    before_write: Callable[[Path], None] | None = None,
) -> Placed:
    """Put a copy (or a hard link) of source into folder safely: stage_file then commit_staged.

    The content is written under a temporary name in the same folder, flushed, then given a free
    final name: nothing is ever overwritten, a file with the same name and the same content
    already there is kept (status IDENTICAL, nothing written), a different one makes the new
    file "name (2).ext". File times are kept. `before_write(dest)` runs once the final name is
    chosen and before that name is given (the journal records its intent there).

    Raises:
        OutOfSpaceError: the disk is full (no partial file is left).
        OSError: the source cannot be read or the folder cannot be written.
    """
    staged = stage_file(source, folder, name=name, link=link, source_sha=source_sha)
    return commit_staged(staged, before_write=before_write)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("Could not remove temporary file %s: %s", path, exc)


def remove_temp_files(folder: str | os.PathLike[str]) -> int:
    """Remove Sorter's own leftover temporary files (from a killed run) in one folder."""
    removed = 0
    try:
        entries = list(os.scandir(_p(folder)))
    except OSError:
        return 0
    for entry in entries:
        if is_temp_name(entry.name):
            _remove_quietly(entry.path)
            removed += 1
    if removed:
        log.info("Removed %d unfinished temporary file(s) in %s", removed, folder)
    return removed


def remove_if_unchanged(path: str | os.PathLike[str], sha256: str) -> str:
    """Delete a file Sorter wrote, only if its content still has the given hash.

    Returns "removed", "missing" (already gone) or "changed" (kept: edited since).
    """
    try:
        current = file_sha256(path)
    except FileNotFoundError:
        return "missing"
    if current != sha256:
        return "changed"
    os.unlink(_p(path))
    return "removed"


def restore_file(
    copy: str | os.PathLike[str],
    original: str | os.PathLike[str],
    *,
    link: bool = True,
    note_temp: Callable[[str], None] | None = None,
    forget_temp: Callable[[str], None] | None = None,
) -> bool:
    """Put a copy back at its original path (undo of a move); False if a file stands there.

    A hard link (if `link`) goes straight to the final name (atomic, never replacing a file),
    so a kill leaves nothing half-done in the user's folder. Otherwise the bytes go
    through a temporary file: `note_temp(path)` runs before it is created, so the caller can
    record it and a later run remove it after a kill; `forget_temp(path)` once it is gone.
    """
    original = Path(original)
    if os.path.lexists(_p(original)):
        return False
    make_folders(original.parent)
    try:
        if link:
            os.link(_p(copy), _p(original))
            return True
    except FileExistsError:
        return False
    except OSError as exc:  # other volume, FAT, no permission: a copy will do
        log.debug("No hard link back to %s (%s); copying", original, exc)
    tmp = _p(original.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}")
    if note_temp is not None:
        note_temp(tmp)
    try:
        _copy_bytes(Path(copy), tmp)
        _commit_name(tmp, original)
    except FileExistsError:
        return False
    finally:
        _remove_quietly(tmp)
        if forget_temp is not None:
            forget_temp(tmp)
    return True


def is_temp_name(path: str | os.PathLike[str]) -> bool:
    """True for the names of Sorter's own temporary files."""
    name = os.path.basename(path)
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def remove_temp_files_under(out: str | os.PathLike[str], skip: str) -> int:
    """Remove Sorter's leftover temporary files in OUT and in each folder directly under it
    (every copy is written in one of those), leaving the folder named `skip` alone."""
    removed = remove_temp_files(out)
    try:
        folders = [e.path for e in os.scandir(_p(out)) if e.is_dir() and e.name != skip]
    except OSError:
        return removed
    return removed + sum(remove_temp_files(f) for f in folders)
