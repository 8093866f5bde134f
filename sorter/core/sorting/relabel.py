"""Fix a sorted output after a correction: add copies where they belong, take out wrong ones."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sorter.core.errors import BadPathError, SorterError
from sorter.core.model.decide import UNCERTAIN, UNREADABLE
from sorter.core.sorting.journal import DONE, RUNNING, UNDONE, Journal
from sorter.core.sorting.leftovers import clean_leftovers
from sorter.core.sorting.names import unique_folder_names
from sorter.core.sorting.outputlock import OutputLock
from sorter.core.sorting.report import update_report
from sorter.core.sorting.safecopy import IDENTICAL, file_sha256, place_file, remove_if_unchanged
from sorter.core.sorting.undo import hand_over, needing

log = logging.getLogger(__name__)

RELABEL_MODE = "copy"  # an image no run sorted gets a copy run of its own, which undo reverses


class RelabelError(SorterError):
    """The sorted output cannot be corrected right now."""


@dataclass(frozen=True)
class PlacedCopy:
    """One copy of the source that an earlier run (or this one) put into OUT."""

    run_id: int
    seq: int
    folder: str  # folder name under OUT
    dest: Path  # absolute
    sha256: str | None


@dataclass
class RelabelResult:
    """What a relabel did, with paths absolute."""

    source: Path
    folders: list[str]  # where the image belongs now
    added: list[Path] = field(default_factory=list)
    already_there: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    kept_changed: list[Path] = field(default_factory=list)  # edited since sorting: left alone
    kept_shared: list[Path] = field(default_factory=list)  # another photo's copy too: left there
    run_id: int | None = None
    copies: list[Path] = field(default_factory=list)  # its copies in those folders now
    categories: list[str] = field(default_factory=list)  # as the report names them

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def to_dict(self) -> dict:
        return {
            "source": str(self.source),
            "folders": list(self.folders),
            "added": [str(p) for p in self.added],
            "removed": [str(p) for p in self.removed],
            "kept_changed": [str(p) for p in self.kept_changed],
            "kept_shared": [str(p) for p in self.kept_shared],
            "run_id": self.run_id,
        }


def target_folders(
    new_categories: Sequence[str], categories: Sequence[str] | None = None
) -> list[str]:
    """Folder names for the chosen categories, named as the sort named them.

    `categories` is the model's category order that the sort used (folder names depend on it
    when two names clash); categories new to the model are appended after it.
    """
    order = list(dict.fromkeys([*(categories or []), *new_categories]))
    names = unique_folder_names(order)
    return [names[c] for c in dict.fromkeys(new_categories)] or [UNCERTAIN]


def placed_copies(journal: Journal, source: Path) -> list[PlacedCopy]:
    """Every finished copy of `source` recorded in OUT's journal by runs not undone."""
    wanted = {str(source), str(source.resolve())}
    copies = []
    for run in journal.runs():
        if run.state == UNDONE:
            continue
        seqs = _plan_seqs(journal, run.id, wanted)
        if not seqs:
            continue
        for (seq, folder), op in journal.ops(run.id).items():
            if seq in seqs and op.state == DONE:
                copies.append(PlacedCopy(run.id, seq, folder, journal.out / op.dest, op.sha256))
    return copies


def _plan_seqs(journal: Journal, run_id: int, sources: set[str]) -> set[int]:
    # The journal keeps each run's plan (seq -> source); reading it is the only way to find
    # which copies in OUT came from one photo.
    rows = journal.db.execute("SELECT seq, source FROM plan WHERE run_id=?", (run_id,))
    return {seq for seq, src in rows if src in sources}


def relabel(
    out: str | os.PathLike[str],
    source: str | os.PathLike[str],
    new_categories: Sequence[str],
    categories: Sequence[str] | None = None,
    *,
    report: bool = True,
    clean: bool = True,
) -> RelabelResult:
    """Make OUT show `source` in exactly the folders of `new_categories` (uncertain if none).

    New copies go in through the safe copy code and are journaled under the run that sorted
    the image (a new run when none did), so `sorter undo` of that run takes back exactly the
    copies that are there now, and a moved photo can still be put back. Copies in folders no
    longer chosen (uncertain included) are deleted only if their content is still what Sorter
    wrote. The source is only read; when it is gone (a move run) an unchanged copy is used,
    and the last copy of a photo is never deleted. With `report`, the image's row in
    OUT/sorter-report.csv is brought up to date (a caller relabelling many images can pass False
    and call note_in_report once). With `clean`, what a killed command left in OUT is cleaned
    first (a caller relabelling many images can do it once and pass False).

    Raises:
        BadPathError: OUT does not exist, or neither the source nor a copy is readable.
        RelabelError: the run that sorted the image was interrupted and is not finished.
        LockedError: another Sorter run is writing into OUT.
    """
    out_path, src_path = Path(out), Path(source)
    if not out_path.is_dir():
        raise BadPathError(f"The output folder {out_path} does not exist.")
    wanted = target_folders(new_categories, categories)
    result = RelabelResult(src_path, wanted)
    with OutputLock(out_path), Journal(out_path) as journal:
        if clean:
            clean_leftovers(journal)
        existing = placed_copies(journal, src_path)
        origin, origin_sha = _origin(src_path, existing)
        have = {c.folder for c in existing if c.dest.exists()}
        missing = [f for f in wanted if f not in have]
        run_id, seq = _owner(journal, src_path, existing, bool(missing))
        result.run_id = run_id
        for folder in missing:
            _add_copy(journal, run_id, seq, origin, origin_sha, src_path.name, folder, result)
        keep = [c.dest for c in existing if c.folder in wanted and c.dest.exists()]
        mine = {(c.run_id, c.seq) for c in existing}
        for copy in existing:
            if copy.folder not in wanted and copy.folder != UNREADABLE:
                _remove_copy(journal, copy, result, keep, mine)
        result.copies = [*keep, *result.added, *result.already_there]
        result.categories = list(new_categories) or [UNCERTAIN]
        if report:
            note_in_report(out_path, [result])
    log.info(
        "Relabelled %s into %s: %d added, %d removed",
        src_path.name, wanted, len(result.added), len(result.removed),
    )  # fmt: skip
    return result


def note_in_report(out: Path, results: Sequence[RelabelResult]) -> int:
    """Rewrite the report rows of relabelled images; a report that cannot be written is only
    logged, since the copies themselves are already right. Returns the rows changed."""
    changes = {r.source: (r.categories, r.copies) for r in results}
    try:
        return update_report(out, changes)
    except (OSError, SorterError) as exc:
        log.warning("Could not bring the report in %s up to date: %s", out, exc)
        return 0


def _origin(source: Path, existing: Sequence[PlacedCopy]) -> tuple[Path, str]:
    """What to copy from: the source, else an unchanged copy already in OUT."""
    if source.is_file():
        return source, file_sha256(source)
    for copy in existing:
        try:
            if copy.sha256 and file_sha256(copy.dest) == copy.sha256:
                return copy.dest, copy.sha256
        except OSError:
            continue
    raise BadPathError(f"{source} no longer exists and no unchanged copy of it is left in OUT.")


def _owner(
    journal: Journal, source: Path, existing: Sequence[PlacedCopy], adding: bool
) -> tuple[int | None, int]:
    """The (run, seq) new copies are journaled under: the latest run that sorted the image."""
    if existing:
        latest = max(existing, key=lambda c: c.run_id)
        state = {r.id: r.state for r in journal.runs()}[latest.run_id]
        if state == RUNNING:
            raise RelabelError(
                f"The sort that copied {source.name} was interrupted; run it again to finish "
                "it before correcting its images."
            )
        return latest.run_id, latest.seq
    if not adding:
        return None, 0
    signature = hashlib.sha256(
        json.dumps(["relabel", str(source), time.time()]).encode()
    ).hexdigest()
    run_id = journal.start_run(source.parent, RELABEL_MODE, signature, [(str(source), [], "")])
    journal.finish_run(run_id)  # each copy below is committed on its own
    return run_id, 0


def _add_copy(
    journal: Journal,
    run_id: int | None,
    seq: int,
    origin: Path,
    origin_sha: str,
    name: str,
    folder: str,
    result: RelabelResult,
) -> None:
    assert run_id is not None  # _owner gives a run whenever there is something to add
    target = journal.out / folder
    if not target.exists():
        journal.folder_created(run_id, folder)  # recorded first: undo may then rmdir it

    def record(dest: Path) -> None:
        journal.op_pending(run_id, seq, folder, _rel(journal.out, dest), origin_sha)

    placed = place_file(origin, target, name=name, source_sha=origin_sha, before_write=record)
    rel = _rel(journal.out, placed.dest)
    journal.op_done(run_id, seq, folder, rel, placed.status, placed.sha256, placed.size)
    if placed.status == IDENTICAL:  # the same photo was there already; undo leaves it alone
        result.already_there.append(placed.dest)
    else:
        result.added.append(placed.dest)


def _remove_copy(
    journal: Journal,
    copy: PlacedCopy,
    result: RelabelResult,
    keep: Sequence[Path],
    mine: set[tuple[int, int]],
) -> None:
    if copy.sha256 is None:
        result.kept_changed.append(copy.dest)
        return
    if not _another_copy_exists(result, keep):
        log.warning("Keeping %s: it is the only copy left of its photo", copy.dest)
        result.kept_changed.append(copy.dest)
        return
    if _left_to_another_photo(journal, copy, mine):
        result.kept_shared.append(copy.dest)
        return
    outcome = remove_if_unchanged(copy.dest, copy.sha256)
    if outcome == "changed":
        log.info("Keeping %s: it was edited after sorting", copy.dest)
        result.kept_changed.append(copy.dest)
        return
    # Forget the op so that undoing the earlier run does not look for a file we took away.
    journal.op_forget(copy.run_id, copy.seq, copy.folder)
    if outcome == "removed":
        result.removed.append(copy.dest)


def _left_to_another_photo(journal: Journal, copy: PlacedCopy, mine: set[tuple[int, int]]) -> bool:
    """When the copy is also the only copy of another photo (a twin moved onto it), this photo
    lets go of it and the other keeps it (owning it, if this photo's run wrote it)."""
    rel = _rel(journal.out, copy.dest)
    others = [h for h in needing(journal, rel) if (h.run_id, h.seq) not in mine]
    if not others:
        return False
    op = journal.ops(copy.run_id)[(copy.seq, copy.folder)]
    if op.kind != IDENTICAL:
        hand_over(journal, op, copy.run_id, others[0])
    journal.op_forget(copy.run_id, copy.seq, copy.folder)
    log.info("Keeping %s: it is also the copy of %s", copy.dest, others[0].source)
    return True


def _another_copy_exists(result: RelabelResult, keep: Sequence[Path]) -> bool:
    """True when deleting one more copy cannot lose the photo."""
    if result.source.is_file():
        return True
    return any(p.exists() for p in [*keep, *result.added, *result.already_there])


def _rel(out: Path, dest: Path) -> str:
    return Path(os.path.relpath(dest, out)).as_posix()
