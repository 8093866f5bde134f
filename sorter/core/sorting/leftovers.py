"""Clean what a killed command left in OUT and in source folders: temporary files, half-noted
copies. Every command that writes (sort, resort, relabel, undo) runs it first, under OUT's lock."""

from __future__ import annotations

import logging
import os

from sorter.core.sorting.journal import STATE_DIR, Journal, OpRow
from sorter.core.sorting.safecopy import (
    COPIED,
    file_sha256,
    is_temp_name,
    remove_temp_files_under,
)

log = logging.getLogger(__name__)


def clean_leftovers(journal: Journal) -> None:
    """Remove leftover temporary files (OUT's folders, and those noted in the journal, such as
    undo's copies back into a source folder), then settle the copies a kill left pending in
    finished runs."""
    remove_temp_files_under(journal.out, skip=STATE_DIR)
    for path in journal.noted_temps():
        if is_temp_name(path):  # never anything but Sorter's own temporary names
            _unlink(path)
        journal.forget_temp(path)
    settle_pending(journal)


def settle_pending(journal: Journal, run_id: int | None = None) -> None:
    """Settle the copies a kill left pending in finished runs, and in `run_id` (a run about to
    be undone) whatever its state."""
    for owner, op in journal.pending_ops(run_id):
        _settle(journal, owner, op)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
        log.info("Removed the temporary file %s left by a killed run", path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("Could not remove the temporary file %s: %s", path, exc)


def _settle(journal: Journal, run_id: int, op: OpRow) -> None:
    """A copy was being named when the process died: keep it on the record if it is complete
    (its content is what was noted, and its name was free when noted), else forget the op."""
    dest = journal.out / op.dest
    try:
        sha = file_sha256(dest) if op.sha256 is not None else None
    except OSError:
        sha = None
    if sha is not None and sha == op.sha256:
        size = os.stat(dest).st_size
        journal.op_done(run_id, op.seq, op.folder, op.dest, COPIED, sha, size)
    elif op.sha256 is not None or not os.path.lexists(dest):
        journal.op_forget(run_id, op.seq, op.folder)
    # an old journal's pending op without a hash, at a name now taken: left alone
