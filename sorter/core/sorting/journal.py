"""The run journal kept in OUT (SQLite, WAL): plan, scores, every copy."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sorter.core.errors import BadPathError, OutOfSpaceError
from sorter.core.files import file_stamp, long_path
from sorter.core.sorting.safecopy import make_folders

log = logging.getLogger(__name__)

STATE_DIR = ".sorter"
JOURNAL_FILE = "journal.sqlite"
RUNNING, DONE, UNDONE = "running", "done", "undone"
PENDING = "pending"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started REAL, finished REAL, src TEXT, mode TEXT,
    signature TEXT, state TEXT, info TEXT);
CREATE TABLE IF NOT EXISTS plan (
    run_id INTEGER, seq INTEGER, source TEXT, folders TEXT, error TEXT, categories TEXT,
    scores TEXT, PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS skipped (run_id INTEGER, source TEXT, reason TEXT);
CREATE TABLE IF NOT EXISTS ops (
    run_id INTEGER, seq INTEGER, folder TEXT, dest TEXT, kind TEXT, state TEXT,
    sha256 TEXT, size INTEGER, PRIMARY KEY (run_id, seq, folder));
CREATE TABLE IF NOT EXISTS moves (
    run_id INTEGER, seq INTEGER, source TEXT, sha256 TEXT, state TEXT,
    PRIMARY KEY (run_id, seq));
CREATE TABLE IF NOT EXISTS folders (run_id INTEGER, path TEXT, PRIMARY KEY (run_id, path));
CREATE INDEX IF NOT EXISTS ops_by_dest ON ops (dest);
CREATE TABLE IF NOT EXISTS temps (path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS scores (
    model TEXT, source TEXT, size INTEGER, mtime_ns INTEGER, scores TEXT, error TEXT,
    PRIMARY KEY (model, source));
"""


@dataclass(frozen=True)
class OpRow:
    """One file a run placed (or is placing) in OUT; `dest` is relative to OUT."""

    seq: int
    folder: str
    dest: str
    kind: str
    state: str
    sha256: str | None


@dataclass(frozen=True)
class Holder:
    """A photo of a run (not undone) whose finished op points at one file in OUT."""

    run_id: int
    seq: int
    folder: str
    kind: str
    source: str
    sha256: str | None


@dataclass(frozen=True)
class RunRow:
    id: int
    started: float
    finished: float | None
    src: str
    mode: str
    state: str


class JournalDamagedError(BadPathError):
    """The journal in OUT is not a readable SQLite file, or some of its pages are damaged."""


def journal_damaged(path: Path, exc: Exception) -> JournalDamagedError:
    return JournalDamagedError(
        f"The journal {path} is damaged ({exc}); move it out of {path.parent.parent} and run "
        "again to start afresh (runs recorded in it can then no longer be undone)."
    )


def _check_pages(db: sqlite3.Connection) -> None:
    """Read every page once (milliseconds for a large journal), so damage in the middle of the
    file is met here, as one clear error, instead of half-way through a sort or an undo."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        # the details go to the log file; the user gets one sentence from the caller
        log.info("Journal check found: %s", " | ".join(problems).replace("\n", " "))
        raise sqlite3.DatabaseError("database disk image is malformed")


def state_dir(out: Path) -> Path:
    return Path(out) / STATE_DIR


def has_journal(folder: str | os.PathLike[str]) -> bool:
    """Whether Sorter has sorted into `folder` (its journal is there). Creates nothing."""
    return (state_dir(Path(folder)) / JOURNAL_FILE).is_file()


def make_folder(path: Path) -> None:
    """mkdir -p (long Windows paths too), with a readable BadPathError when it cannot be done."""
    try:
        make_folders(path)
    except FileExistsError as exc:
        raise BadPathError(f"{path} exists and is not a folder.") from exc
    except OSError as exc:
        raise BadPathError(f"Cannot create the folder {path}: {exc.strerror or exc}.") from exc


class Journal:
    """One SQLite file per output folder; every write is committed (and synced) at once."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        folder = state_dir(self.out)
        make_folder(folder)
        self.path = folder / JOURNAL_FILE
        try:
            # SQLite opens `\\?\` paths, so a journal deep in a tree works on Windows too
            self.db = sqlite3.connect(long_path(self.path), isolation_level=None, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL survives kill -9 completely; after a power cut the last few rows may be
            # gone, which only makes a finished copy look pre-existing (skipped, never doubled).
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            _check_pages(self.db)
        except sqlite3.DatabaseError as exc:
            raise journal_damaged(self.path, exc) from exc

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "full" in str(exc).lower():  # SQLITE_FULL: "database or disk is full"
                raise OutOfSpaceError(
                    f"The disk holding {self.out} is full. Free some space and run the same "
                    "command again to finish."
                ) from exc
            raise
        except sqlite3.DatabaseError as exc:  # damage that appeared while in use
            raise journal_damaged(self.path, exc) from exc

    # --- scores: kept so a resumed or repeated run does not compute them again
    def cached_scores(
        self, model_key: str, paths: Iterable[Path]
    ) -> dict[Path, tuple[list[float] | None, str | None]]:
        found = {}
        query = "SELECT size, mtime_ns, scores, error FROM scores WHERE model=? AND source=?"
        for path in paths:
            row = self.db.execute(query, (model_key, str(path))).fetchone()
            if row is None or (row[0], row[1]) != file_stamp(path):
                continue
            found[path] = (json.loads(row[2]) if row[2] is not None else None, row[3])
        return found

    def save_scores(
        self, model_key: str, items: Iterable[tuple[Path, list[float] | None, str | None]]
    ) -> None:
        rows = []
        for path, scores, error in items:
            identity = file_stamp(path)
            if identity is None:
                continue  # gone since it was scored: nothing worth keeping
            size, mtime = identity
            text = json.dumps(scores) if scores is not None else None
            rows.append((model_key, str(path), size, mtime, text, error))
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?)", rows)

    # --- runs
    def find_unfinished(self, signature: str) -> int | None:
        row = self.db.execute(
            "SELECT id FROM runs WHERE signature=? AND state=? ORDER BY id DESC LIMIT 1",
            (signature, RUNNING),
        ).fetchone()
        return row[0] if row else None

    def start_run(
        self,
        src: Path,
        mode: str,
        signature: str,
        items: Iterable[tuple],
        *,
        info: dict | None = None,
        skipped: Iterable[tuple[str, str]] = (),
    ) -> int:
        """Record a new run and its whole plan, in one transaction.

        items: (source, folders, error) or (source, folders, error, categories, scores), in
        order; `info` holds plan-wide data (categories, folder names) for a later resume.
        """
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO runs (started, src, mode, signature, state, info) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), str(src), mode, signature, RUNNING, json.dumps(info or {})),
            )
            run_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO plan VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, i, *_plan_row(item)) for i, item in enumerate(items)],
            )
            db.executemany(
                "INSERT INTO skipped VALUES (?, ?, ?)", [(run_id, s, r) for s, r in skipped]
            )
        return run_id

    def run_info(self, run_id: int) -> dict:
        """What a run noted about its plan (the model's categories, the folder names)."""
        row = self.db.execute("SELECT info FROM runs WHERE id=?", (run_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def note_resort(self, sources: Iterable[str], resorted: dict) -> list[int]:
        """Note under "resorted" in the info of each run (not undone) whose every photo is in
        `sources` (the photos a re-sort has just decided again) which model decides their
        folders now: `resorted` holds its categories and file. Returns those runs' ids."""
        scored = set(sources)
        noted = []
        with self._tx() as db:
            for run in self.runs():
                if run.state == UNDONE:
                    continue
                rows = db.execute(
                    "SELECT source FROM plan WHERE run_id=? AND COALESCE(error, '')=''", (run.id,)
                ).fetchall()
                if not rows or any(src not in scored for (src,) in rows):
                    continue
                info = {**self.run_info(run.id), "resorted": resorted}
                db.execute("UPDATE runs SET info=? WHERE id=?", (json.dumps(info), run.id))
                noted.append(run.id)
        return noted

    def load_plan(self, run_id: int) -> tuple[dict, list[tuple], list[tuple[str, str]]]:
        """(info, [(source, folders, error, categories, scores)] in order, [(source, reason)])."""
        info = self.run_info(run_id)
        rows = self.db.execute(
            "SELECT source, folders, error, categories, scores FROM plan WHERE run_id=? "
            "ORDER BY seq",
            (run_id,),
        )
        items = [
            (src, json.loads(f), err or None, json.loads(c or "[]"), _maybe_json(sc))
            for src, f, err, c, sc in rows
        ]
        skipped = self.db.execute("SELECT source, reason FROM skipped WHERE run_id=?", (run_id,))
        return info, items, [tuple(r) for r in skipped]

    def finish_run(self, run_id: int, state: str = DONE) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET state=?, finished=? WHERE id=?", (state, time.time(), run_id)
            )

    def runs(self) -> list[RunRow]:
        rows = self.db.execute(
            "SELECT id, started, finished, src, mode, state FROM runs ORDER BY id"
        )
        return [RunRow(*row) for row in rows]

    # --- ops: a pending row is written before a file appears, then marked done
    def ops(self, run_id: int) -> dict[tuple[int, str], OpRow]:
        rows = self.db.execute(
            "SELECT seq, folder, dest, kind, state, sha256 FROM ops WHERE run_id=?", (run_id,)
        )
        return {(r[0], r[1]): OpRow(*r) for r in rows}

    def op_pending(
        self, run_id: int, seq: int, folder: str, dest: str, sha: str | None = None
    ) -> None:
        """Record a copy about to get its final name; `sha` (its content) lets a later command
        tell a finished copy from anything else at that name after a kill."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO ops VALUES (?, ?, ?, ?, NULL, ?, ?, NULL)",
                (run_id, seq, folder, dest, PENDING, sha),
            )

    def pending_ops(self, run_id: int | None = None) -> list[tuple[int, OpRow]]:
        """(run, op) of every copy left pending by a kill in a finished run, and in `run_id`
        (one being undone) whatever its state; a running sort settles its own when resumed."""
        rows = self.db.execute(
            "SELECT o.run_id, seq, folder, dest, kind, o.state, sha256 FROM ops o "
            "JOIN runs r ON r.id = o.run_id WHERE o.state = ? AND (r.state != ? OR r.id = ?)",
            (PENDING, RUNNING, -1 if run_id is None else run_id),
        )
        return [(r[0], OpRow(*r[1:])) for r in rows]

    def op_done(
        self, run_id: int, seq: int, folder: str, dest: str, kind: str, sha: str, size: int
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO ops VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, seq, folder, dest, kind, DONE, sha, size),
            )

    def op_forget(self, run_id: int, seq: int, folder: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM ops WHERE run_id=? AND seq=? AND folder=?", (run_id, seq, folder)
            )

    def holders(self, dest: str) -> list[Holder]:
        """Every photo of a run not undone whose finished op points at `dest` (relative)."""
        rows = self.db.execute(
            "SELECT o.run_id, o.seq, o.folder, o.kind, p.source, o.sha256 FROM ops o "
            "JOIN runs r ON r.id = o.run_id "
            "JOIN plan p ON p.run_id = o.run_id AND p.seq = o.seq "
            "WHERE o.dest = ? AND o.state = ? AND r.state != ? ORDER BY o.run_id, o.seq",
            (dest, DONE, UNDONE),
        )
        return [Holder(*row) for row in rows]

    def op_adopt(self, holder: Holder, kind: str, sha: str) -> None:
        """Make a photo's "already there" op the owner of that file (undo may then remove it)."""
        with self._tx() as db:
            db.execute(
                "UPDATE ops SET kind=?, sha256=? WHERE run_id=? AND seq=? AND folder=?",
                (kind, sha, holder.run_id, holder.seq, holder.folder),
            )

    # --- temps: a temporary file outside OUT (undo copying a photo back) is noted first
    def note_temp(self, path: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO temps VALUES (?)", (path,))

    def forget_temp(self, path: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM temps WHERE path=?", (path,))

    def noted_temps(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM temps")]

    def folder_created(self, run_id: int, rel: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO folders VALUES (?, ?)", (run_id, rel))

    def created_folders(self, run_id: int) -> list[str]:
        rows = self.db.execute("SELECT path FROM folders WHERE run_id=?", (run_id,))
        return [r[0] for r in rows]

    # --- moves: the source is removed only after every copy of it is complete
    def moves(self, run_id: int) -> dict[int, tuple[str, str, str]]:
        rows = self.db.execute(
            "SELECT seq, source, sha256, state FROM moves WHERE run_id=?", (run_id,)
        )
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def move_state(self, run_id: int, seq: int, source: str, sha: str, state: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO moves VALUES (?, ?, ?, ?, ?)",
                (run_id, seq, source, sha, state),
            )


def _plan_row(item: tuple) -> tuple:
    source, folders, error, *rest = item
    categories, scores = [*rest, [], None][:2]
    return (source, json.dumps(folders), error, json.dumps(categories), _to_json(scores))


def _to_json(value: object) -> str | None:
    return json.dumps(value) if value is not None else None


def _maybe_json(text: str | None) -> object:
    return json.loads(text) if text is not None else None
