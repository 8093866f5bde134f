"""Apply a sort plan: every copy of a sort run, journaled so that a killed run can finish."""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sorter.core.errors import OutOfSpaceError
from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress
from sorter.core.model.decide import UNCERTAIN
from sorter.core.sorting.journal import DONE, PENDING, Journal, OpRow, make_folder
from sorter.core.sorting.leftovers import clean_leftovers
from sorter.core.sorting.outputlock import OutputLock
from sorter.core.sorting.outputs import remember_output
from sorter.core.sorting.plan import PlanItem, SortPlan, plan_outcome
from sorter.core.sorting.report import (
    ALREADY_THERE,
    COPIED,
    FAILED,
    LINKED,
    MOVED,
    SKIPPED,
    ImageOutcome,
    SortSummary,
    count_outcomes,
    write_report,
)
from sorter.core.sorting.safecopy import (
    IDENTICAL,
    Staged,
    commit_staged,
    discard_staged,
    file_sha256,
    folder_exists,
    is_disk_full,
    make_folders,
    same_content,
    stage_file,
)

log = logging.getLogger(__name__)

MODES = ("copy", "link", "move")
# Reading, writing and fsyncing copies mostly waits on the disk, so a few threads overlap it
# even on 2 cores; names and the journal stay on the calling thread.
COPY_WORKERS = min(8, 2 * (os.cpu_count() or 1))
# Images staged ahead of the one being committed: bounds memory and temporary files.
STAGE_AHEAD = 2 * COPY_WORKERS


@dataclass
class _Run:
    """The state one apply pass shares between items."""

    plan: SortPlan
    mode: str
    journal: Journal
    run_id: int
    ops: dict[tuple[int, str], OpRow]
    moves: dict[int, tuple[str, str, str]]
    summary: SortSummary
    known_folders: set[str] = field(default_factory=set)
    stager: _Stager | None = None


def apply_plan(
    plan: SortPlan,
    *,
    mode: str = "copy",
    journal: Journal | None = None,
    signature: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> SortSummary:
    """Copy (or link, or move) every planned image into OUT and write OUT/sorter-report.csv.

    Without a journal it takes OUT's lock and opens OUT's journal itself. An unfinished run with
    the same signature (default: the same plan and mode) is resumed: finished copies are kept,
    half-written ones are cleaned away.

    Raises:
        LockedError: another run is writing into OUT.
        OutOfSpaceError: the disk filled up; the run can be resumed once space is freed.
        Cancelled: `cancel` was triggered between two images.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if journal is None:
        make_folder(plan.out)
        with OutputLock(plan.out), Journal(plan.out) as own:
            return _apply(plan, mode, own, signature, progress, cancel)
    return _apply(plan, mode, journal, signature, progress, cancel)


def _start(journal: Journal, plan: SortPlan, mode: str, signature: str) -> int:
    rows = [(str(i.source), i.folders, i.error, i.categories, i.scores) for i in plan.items]
    info = {"categories": plan.categories, "folder_names": plan.folder_names}
    if plan.model_file:
        info["model_file"] = plan.model_file
    skipped = [(str(p), reason) for p, reason in plan.skipped]
    remember_output(plan.out)  # retraining learns from the images the user keeps there
    return journal.start_run(plan.src, mode, signature, rows, info=info, skipped=skipped)


def _apply(
    plan: SortPlan,
    mode: str,
    journal: Journal,
    signature: str | None,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> SortSummary:
    signature = signature or plan.signature(mode)
    run_id = journal.find_unfinished(signature)
    resumed = run_id is not None
    if run_id is None:
        run_id = _start(journal, plan, mode, signature)
    else:
        log.info("Resuming unfinished run %d in %s", run_id, plan.out)
    summary = SortSummary(plan.src, plan.out, run_id=run_id, mode=mode, resumed=resumed)
    summary.images = len(plan.items)
    run = _Run(plan, mode, journal, run_id, journal.ops(run_id), journal.moves(run_id), summary)
    clean_leftovers(journal)  # of any killed command on OUT (this run's own pending: below)
    meter = RateMeter("Copying", total=len(plan.items), unit="images")
    with ThreadPoolExecutor(COPY_WORKERS, thread_name_prefix="sorter-copy") as pool:
        run.stager = _Stager(run, pool)
        try:
            for seq, item in enumerate(plan.items):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                run.stager.fill(seq)
                summary.outcomes.append(_apply_item(run, seq, item))
                run.stager.drop(seq)
                progress(meter.report(seq + 1))
        finally:
            run.stager.close()
    summary.outcomes += [ImageOutcome(p, [], [], [], SKIPPED, why) for p, why in plan.skipped]
    count_outcomes(summary, UNCERTAIN)
    write_report(summary)
    journal.finish_run(run_id)
    return summary


def _apply_item(run: _Run, seq: int, item: PlanItem) -> ImageOutcome:
    outcome = plan_outcome(run.plan, item, COPIED)
    if item.scores is None:
        return outcome
    ops = []
    try:
        for folder in item.folders:
            ops.append(_place_one(run, seq, item.source, folder))
        if run.mode == "move":
            _remove_source(run, seq, item.source, ops)
    except OutOfSpaceError:
        raise
    except OSError as exc:
        if is_disk_full(exc):  # e.g. creating a folder: every later image would fail the same
            raise OutOfSpaceError(
                f"The disk holding {run.plan.out} is full. Free some space and run the same "
                "command again to finish."
            ) from exc
        log.warning("Could not place %s: %s", item.source, exc)
        outcome.status, outcome.error = FAILED, _reason(exc)
        outcome.destinations = [Path(op.dest) for op in ops]
        return outcome
    outcome.destinations = [Path(op.dest) for op in ops]
    outcome.status = _status(run, [op.kind for op in ops])
    return outcome


def _status(run: _Run, kinds: list[str]) -> str:
    run.summary.copied += sum(k in (COPIED, LINKED) for k in kinds)
    run.summary.linked += kinds.count(LINKED)
    run.summary.skipped_identical += kinds.count(IDENTICAL)
    if run.mode == "move":
        run.summary.moved += 1
        return MOVED
    if all(k == IDENTICAL for k in kinds):
        return ALREADY_THERE
    return LINKED if all(k in (LINKED, IDENTICAL) for k in kinds) else COPIED


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or str(exc)


def _place_one(run: _Run, seq: int, source: Path, folder: str) -> OpRow:
    """Place one image in one folder, or take the journal's word that it already is."""
    op = run.ops.get((seq, folder))
    if op is not None and op.state == DONE:
        return op
    if op is not None and op.state == PENDING:
        finished = _finish_pending(run, seq, source, op)
        if finished is not None:
            return finished
    staged = run.stager.take(seq, folder) if run.stager is not None else None
    if staged is None:  # not staged ahead (resumed after a crash): stage it here
        _note_folder(run, folder)
        staged = stage_file(source, run.plan.out / folder, link=run.mode in ("link", "move"))
    sha = staged.sha256

    def record(dest: Path) -> None:
        run.journal.op_pending(run.run_id, seq, folder, _rel(run, dest), sha)

    placed = commit_staged(staged, before_write=record)
    rel = _rel(run, placed.dest)
    run.journal.op_done(run.run_id, seq, folder, rel, placed.status, placed.sha256, placed.size)
    return OpRow(seq, folder, rel, placed.status, DONE, placed.sha256)


def _finish_pending(run: _Run, seq: int, source: Path, op: OpRow) -> OpRow | None:
    """A copy was started before a crash: keep it if it reached its final name, else forget it."""
    dest = run.plan.out / op.dest
    if os.path.lexists(dest) and same_content(source, dest):
        st_src, st_dest = os.stat(source), os.stat(dest)
        same_file = (st_src.st_dev, st_src.st_ino) == (st_dest.st_dev, st_dest.st_ino)
        kind = LINKED if same_file else COPIED
        sha = file_sha256(dest)
        run.journal.op_done(run.run_id, seq, op.folder, op.dest, kind, sha, st_dest.st_size)
        return OpRow(seq, op.folder, op.dest, kind, DONE, sha)
    run.journal.op_forget(run.run_id, seq, op.folder)
    return None


def _note_folder(run: _Run, folder: str) -> None:
    """Record a category folder this run creates, so undo can remove it when empty."""
    if folder in run.known_folders:
        return
    run.known_folders.add(folder)
    path = run.plan.out / folder
    if not folder_exists(path):
        run.journal.folder_created(run.run_id, folder)  # recorded first: undo may then rmdir it
        make_folders(path)


def _remove_source(run: _Run, seq: int, source: Path, ops: list[OpRow]) -> None:
    """Move mode: remove the source once all its copies are complete (journaled for undo).

    Every copy is checked on disk first, the one found "already there" included: it is this
    run's op from now on, and other runs' undo or re-sort keeps a file that op needs.

    Raises:
        OSError: the source changed since it was copied, or a copy is gone or differs (the
            source is kept), or the source cannot be removed.
    """
    state = run.moves.get(seq)
    if state is not None and state[2] == DONE:
        return
    if not os.path.lexists(source) and state is not None:
        run.journal.move_state(run.run_id, seq, str(source), state[1], DONE)
        return
    sha = file_sha256(source)
    if {op.sha256 for op in ops} != {sha}:
        raise OSError(f"the source changed after it was copied, so it was left in place: {source}")
    for op in ops:
        if not same_content(source, run.plan.out / op.dest, sha):
            raise OSError(f"its copy {op.dest} is gone or differs, so it was left in place")
    run.journal.move_state(run.run_id, seq, str(source), sha, PENDING)
    os.unlink(source)
    run.journal.move_state(run.run_id, seq, str(source), sha, DONE)


def _rel(run: _Run, dest: Path) -> str:
    return Path(os.path.relpath(dest, run.plan.out)).as_posix()


class _Stager:
    """Stages the copies of the next images on a thread pool, in plan order, so the calling
    thread only has to name them (commit_staged) and journal them in order."""

    def __init__(self, run: _Run, pool: ThreadPoolExecutor) -> None:
        self.run, self.pool = run, pool
        self.futures: dict[tuple[int, str], Future[Staged]] = {}
        self.next_seq = 0

    def fill(self, seq: int) -> None:
        """Start staging every image up to STAGE_AHEAD past seq."""
        items = self.run.plan.items
        while self.next_seq < min(len(items), seq + STAGE_AHEAD):
            self._submit(self.next_seq, items[self.next_seq])
            self.next_seq += 1

    def _submit(self, seq: int, item: PlanItem) -> None:
        if item.scores is None:
            return
        link = self.run.mode in ("link", "move")
        for folder in item.folders:
            if (seq, folder) in self.run.ops:  # done, or pending after a crash: decided in order
                continue
            try:
                _note_folder(self.run, folder)  # here: the journal is the calling thread's
            except OSError as exc:  # reported when this image's turn comes, as before
                failed: Future[Staged] = Future()
                failed.set_exception(exc)
                self.futures[(seq, folder)] = failed
                continue
            job = self.pool.submit(stage_file, item.source, self.run.plan.out / folder, link=link)
            self.futures[(seq, folder)] = job

    def take(self, seq: int, folder: str) -> Staged | None:
        """This copy's staged content (None if it was not staged ahead).

        Raises:
            OSError, OutOfSpaceError: what staging raised.
        """
        future = self.futures.pop((seq, folder), None)
        return None if future is None else future.result()

    def drop(self, seq: int) -> None:
        """Remove what was staged for image seq but not used (an earlier copy of it failed)."""
        for key in [k for k in self.futures if k[0] == seq]:
            _discard(self.futures.pop(key))

    def close(self) -> None:
        """Stop staging and remove every temporary file not committed (cancel, error, the end)."""
        for future in self.futures.values():
            future.cancel()
        for future in self.futures.values():
            _discard(future)
        self.futures.clear()


def _discard(future: Future[Staged]) -> None:
    """Wait for a staging job and remove its temporary file; its error no longer matters."""
    if future.cancelled():
        return
    try:
        staged = future.result()
    except BaseException as exc:  # staging removed its own partial file already
        log.debug("Dropped a staged copy that had failed: %s", exc)
        return
    discard_staged(staged)
