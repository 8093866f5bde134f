"""Undo a sort run from its journal: remove only its unchanged copies, put moved files back."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sorter.core.errors import BadPathError
from sorter.core.files import long_path
from sorter.core.sorting.journal import DONE, UNDONE, Holder, Journal, OpRow, has_journal
from sorter.core.sorting.leftovers import clean_leftovers, settle_pending
from sorter.core.sorting.outputlock import OutputLock
from sorter.core.sorting.safecopy import (
    IDENTICAL,
    file_sha256,
    restore_file,
)

log = logging.getLogger(__name__)


@dataclass
class UndoSummary:
    """What undo did; files it left alone are listed with the reason."""

    out: Path
    run_id: int
    removed: int = 0
    restored: int = 0  # moved sources put back
    folders_removed: int = 0
    kept: list[tuple[str, str]] = field(default_factory=list)  # (path still there, reason)
    not_restored: list[tuple[str, str]] = field(default_factory=list)  # (moved source, reason)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["out"] = str(self.out)
        data["kept"] = [{"path": p, "reason": r} for p, r in self.kept]
        data["not_restored"] = [{"path": p, "reason": r} for p, r in self.not_restored]
        return data


def undo_run(out: str | os.PathLike[str], run_id: int | None = None) -> UndoSummary:
    """Undo one run into OUT (default: the latest one not yet undone).

    Removes only files the run wrote, and only if their content is unchanged (by hash); puts
    moved sources back first; then removes the folders the run created if they are empty.

    Raises:
        BadPathError: OUT has no journal, or no such run to undo.
        LockedError: a run is writing into OUT right now.
    """
    out_path = Path(os.path.abspath(Path(out).expanduser()))
    if not has_journal(out_path):
        raise BadPathError(f"{out_path} holds no Sorter journal, so there is nothing to undo.")
    with OutputLock(out_path), Journal(out_path) as journal:
        clean_leftovers(journal)
        run_id = _pick_run(journal, run_id, out_path)
        settle_pending(journal, run_id)  # an interrupted sort's copies are undone too
        summary = UndoSummary(out_path, run_id)
        ops = journal.ops(run_id)
        _restore_moved(journal, out_path, run_id, ops, summary)
        for op in sorted(ops.values(), key=lambda o: (o.seq, o.folder), reverse=True):
            if op.kind == IDENTICAL or op.state != DONE or op.sha256 is None:
                continue  # identical files were there before; pending ones never finished
            _release(journal, run_id, op, summary)
        _remove_folders(journal, out_path, run_id, summary)
        journal.finish_run(run_id, UNDONE)
    log.info("Undid run %d in %s: %d removed, %d kept", run_id, out_path, summary.removed,
             len(summary.kept))  # fmt: skip
    return summary


def _pick_run(journal: Journal, run_id: int | None, out: Path) -> int:
    runs = {r.id: r for r in journal.runs()}
    if run_id is None:
        # The latest run that wrote something: a re-run that found everything there is skipped.
        candidates = [r.id for r in runs.values() if r.state != UNDONE and _wrote(journal, r.id)]
        if not candidates:
            raise BadPathError(f"Nothing to undo in {out}: every run is undone or wrote nothing.")
        return max(candidates)
    if run_id not in runs:
        known = ", ".join(str(i) for i in runs) or "none"
        raise BadPathError(f"There is no run {run_id} in {out} (runs: {known}).")
    if runs[run_id].state == UNDONE:
        raise BadPathError(f"Run {run_id} in {out} is already undone.")
    return run_id


def _wrote(journal: Journal, run_id: int) -> bool:
    made = any(op.kind != IDENTICAL and op.state == DONE for op in journal.ops(run_id).values())
    return made or bool(journal.moves(run_id))


def needing(journal: Journal, dest: str, sha: str | None = None) -> list[Holder]:
    """The photos (of runs not undone) that would be lost with the file at `dest` in OUT (its
    hash `sha` if known): they point at it and their source no longer holds the same bytes
    (moved, deleted, edited)."""
    path = journal.out / dest
    if sha is None:
        try:
            sha = file_sha256(path)
        except OSError:
            return []  # nothing there to lose
    holders = [h for h in journal.holders(dest) if h.sha256 in (None, sha)]  # else edited since
    return [h for h in holders if not _holds(Path(h.source), path, sha)]


def _holds(source: Path, copy: Path, sha: str) -> bool:
    """True when `source` holds the bytes of `copy` (hash `sha`)."""
    try:
        a, b = os.stat(long_path(os.path.abspath(source))), os.stat(long_path(copy))
    except OSError:
        return False
    if (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino) or a.st_size != b.st_size:
        return a.st_size == b.st_size
    if a.st_mtime_ns == b.st_mtime_ns:
        return True  # a copy keeps its photo's time and an edit changes it: no need to hash
    return file_sha256(source) == sha


def hand_over(journal: Journal, op: OpRow, run_id: int, heir: Holder) -> None:
    """The file `op` of run `run_id` wrote is kept for `heir`, whose photo needs it: heir's run
    owns it from now on (its undo puts the photo back, then removes it), and the folder too."""
    journal.op_adopt(heir, op.kind, op.sha256 or heir.sha256 or "")
    if heir.run_id != run_id and op.folder in journal.created_folders(run_id):
        journal.folder_created(heir.run_id, op.folder)


def _release(journal: Journal, run_id: int, op: OpRow, summary: UndoSummary) -> None:
    """Remove a file the run wrote, unless it changed since or a photo would be lost with it."""
    path = journal.out / op.dest
    try:
        sha = file_sha256(path)
    except FileNotFoundError:
        return  # already gone (taken out by hand): nothing to remove
    except OSError as exc:
        summary.kept.append((str(path), f"cannot be read: {exc.strerror or exc}"))
        return
    needers = needing(journal, op.dest, sha) if sha == op.sha256 else []
    heirs = [h for h in needers if h.run_id != run_id]
    if sha != op.sha256:
        summary.kept.append((str(path), "changed since the run copied it"))
    elif heirs:
        hand_over(journal, op, run_id, heirs[0])
        why = f"run {heirs[0].run_id} relies on it for {heirs[0].source}, and now owns it"
        summary.kept.append((str(path), why))
    elif needers:
        why = f"{needers[0].source} does not hold this photo any more, so this copy stays"
        summary.kept.append((str(path), why))
    else:
        _remove(path, summary)


def _remove(path: Path, summary: UndoSummary) -> None:
    try:
        os.unlink(long_path(os.path.abspath(path)))
        summary.removed += 1
    except FileNotFoundError:
        pass
    except OSError as exc:
        summary.kept.append((str(path), f"cannot be removed: {exc.strerror or exc}"))


def _restore_moved(
    journal: Journal, out: Path, run_id: int, ops: dict, summary: UndoSummary
) -> None:
    """Put each moved source back from one of its unchanged copies (a photo not put back keeps
    its copies: _release finds its source empty)."""
    for seq, (source, sha, state) in sorted(journal.moves(run_id).items()):
        if state != DONE and os.path.lexists(source):
            continue  # never removed
        mine = sorted((op for (s, _), op in ops.items() if s == seq and op.state == DONE),
                      key=lambda op: op.kind == IDENTICAL)  # fmt: skip
        good = next((op for op in mine if _unchanged(out / op.dest, sha)), None)
        if good is None:
            summary.not_restored.append((source, "no unchanged copy left to put back"))
        elif restore_file(
            out / good.dest, source, link=_goes_with_undo(journal, run_id, good),
            note_temp=journal.note_temp, forget_temp=journal.forget_temp,
        ):  # fmt: skip
            summary.restored += 1
        elif not (os.path.isfile(source) and file_sha256(source) == sha):
            summary.not_restored.append((source, "another file now stands at its path"))


def _goes_with_undo(journal: Journal, run_id: int, op: OpRow) -> bool:
    """True when this undo will remove the file (the run wrote it, no other run's photo points
    at it), so the photo may come back as a hard link to it. A file that stays in OUT (another
    run's, the user's) is copied back instead: editing it must never change the photo."""
    return op.kind != IDENTICAL and all(h.run_id == run_id for h in journal.holders(op.dest))


def _unchanged(path: Path, sha: str) -> bool:
    try:
        return path.is_file() and file_sha256(path) == sha
    except OSError:
        return False


def _remove_folders(journal: Journal, out: Path, run_id: int, summary: UndoSummary) -> None:
    for rel in sorted(journal.created_folders(run_id), key=len, reverse=True):
        try:
            os.rmdir(out / rel)  # rmdir refuses a folder that is not empty: never more
            summary.folders_removed += 1
        except FileNotFoundError:
            pass
        except OSError:
            summary.kept.append((str(out / rel), "folder not empty"))
