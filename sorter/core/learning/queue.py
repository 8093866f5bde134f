"""The retraining queue: corrected images and their true labels, in SQLite in the data folder."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageOps

from sorter import appdirs
from sorter.core.errors import BadPathError, ImageError, SorterError
from sorter.core.files import file_sha256

log = logging.getLogger(__name__)

QUEUE_FILE = "corrections.sqlite"
SCHEMA_VERSION = 2
MAX_SIDE = 512  # the stored copy is small: enough to retrain at 224 px, cheap to keep
JPEG_QUALITY = 92
BUSY_S = 30  # how long to wait for another process writing the queue

try:  # HEIC photos from phones; the queue must accept whatever the sorter accepted
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - optional at run time
    pass


class QueueError(SorterError):
    """The correction queue file cannot be read or written."""


@dataclass(frozen=True)
class Correction:
    """One corrected image: what it truly shows, and what the model thought at the time."""

    id: int
    sha256: str
    labels: list[str]  # empty: "none of these categories"
    scores: dict[str, float] | None
    model_version: str | None
    source_path: str  # where the photo was when corrected; informational only
    created: str  # ISO 8601, UTC
    used_in_version: str | None
    image_format: str  # "JPEG" or "PNG"

    @property
    def is_none(self) -> bool:
        return not self.labels

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "sha256": self.sha256,
            "labels": list(self.labels),
            "scores": self.scores,
            "model_version": self.model_version,
            "source_path": self.source_path,
            "created": self.created,
            "used_in_version": self.used_in_version,
        }


def default_queue_path() -> Path:
    return appdirs.data_dir() / QUEUE_FILE


def clean_labels(labels: Iterable[str]) -> list[str]:
    """Strip, drop blanks and duplicates, keep the user's order."""
    seen: list[str] = []
    for label in labels:
        text = str(label).strip()
        if text and text not in seen:
            seen.append(text)
    return seen


def small_copy(path: Path, max_side: int = MAX_SIDE) -> tuple[bytes, str]:
    """Decode an image, turn it upright, shrink it; returns (bytes, "JPEG" | "PNG").

    Transparency is kept (PNG) so training composes it on white exactly as sorting does.

    Raises:
        ImageError: if the file is not a readable image.
    """
    try:
        with Image.open(path) as img:
            img.draft("RGB", (max_side, max_side))  # fast JPEG decode at reduced size
            img = ImageOps.exif_transpose(img)
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
            img = img.convert("RGBA" if has_alpha else "RGB")
            buf = io.BytesIO()
            if has_alpha:
                img.save(buf, "PNG", optimize=True)
                return buf.getvalue(), "PNG"
            img.save(buf, "JPEG", quality=JPEG_QUALITY)
            return buf.getvalue(), "JPEG"
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"Cannot read the image {path.name}: {exc}") from exc


# Version 1 (the first queue) kept labels comma-joined and had no "used" mark; version 2 stores
# labels as JSON (category names may contain commas) and marks rows used instead of deleting them.
_SCHEMA_V2 = (
    """CREATE TABLE IF NOT EXISTS corrections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sha256 TEXT NOT NULL UNIQUE,
        labels TEXT NOT NULL,
        scores TEXT,
        model_version TEXT,
        source_path TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL,
        used_in_version TEXT,
        image BLOB NOT NULL,
        image_format TEXT NOT NULL DEFAULT 'JPEG'
    )""",
    "CREATE INDEX IF NOT EXISTS corrections_used ON corrections (used_in_version)",
)


def _create_v2(conn: sqlite3.Connection) -> None:
    # statement by statement: executescript() would commit the transaction half-way
    for statement in _SCHEMA_V2:
        conn.execute(statement)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _migrate_v1_to_v2(conn: sqlite3.Connection) -> None:
    # A corrections_v1 table left by an older Sorter killed mid-migration holds every row; the
    # corrections table beside it is the unfinished new one.
    if "corrections_v1" not in _tables(conn):
        conn.execute("ALTER TABLE corrections RENAME TO corrections_v1")
    conn.execute("DROP TABLE IF EXISTS corrections")
    conn.execute("DROP INDEX IF EXISTS corrections_used")
    _create_v2(conn)
    rows = conn.execute(
        "SELECT id, sha256, labels, scores, model_version, source_path, created, image"
        " FROM corrections_v1"
    ).fetchall()
    for row in rows:
        labels = json.dumps(clean_labels((row[2] or "").split(",")))
        fmt = "PNG" if bytes(row[7][:8]) == b"\x89PNG\r\n\x1a\n" else "JPEG"
        conn.execute(
            "INSERT INTO corrections (id, sha256, labels, scores, model_version, source_path,"
            " created, image, image_format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row[0], row[1], labels, row[3], row[4], row[5] or "", row[6], row[7], fmt),
        )
    conn.execute("DROP TABLE corrections_v1")


_MIGRATIONS = {1: _migrate_v1_to_v2}  # from version N to N + 1


def _version_of(conn: sqlite3.Connection) -> int:
    """The schema version; for an unstamped file (written before stamps, or by an older Sorter
    killed before its stamp) what its tables show."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version:
        return version
    tables = _tables(conn)
    if "corrections_v1" in tables:
        return 1
    if "corrections" not in tables:
        return 0
    columns = {r[1] for r in conn.execute("PRAGMA table_info(corrections)")}
    return SCHEMA_VERSION if "used_in_version" in columns else 1


def _upgrade(conn: sqlite3.Connection) -> None:
    """Create or migrate the schema and stamp its version, all in ONE transaction.

    SQLite's DDL is transactional and BEGIN IMMEDIATE takes the write lock before anything is
    read, so two first users at once create the tables once, and a kill at any point leaves
    either the old file or the finished one.
    """
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return  # the common case: no write lock needed
    with _transaction(conn, "BEGIN IMMEDIATE"):
        version = _version_of(conn)
        if version > SCHEMA_VERSION:
            raise QueueError(
                f"The correction queue was written by a newer Sorter (schema {version});"
                " please update Sorter."
            )
        while 0 < version < SCHEMA_VERSION:
            log.info("Migrating the correction queue from schema %d", version)
            _MIGRATIONS[version](conn)
            version += 1
        _create_v2(conn)  # a new file; or an unstamped one that may lack its index
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _check_pages(conn: sqlite3.Connection) -> None:
    """Read every page once (milliseconds), so damage anywhere is met as one clear error."""
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        log.info("Queue check found: %s", " | ".join(problems).replace("\n", " "))
        raise sqlite3.DatabaseError("database disk image is malformed")


def _queue_error(path: Path, exc: sqlite3.DatabaseError) -> QueueError:
    damaged = type(exc) is sqlite3.DatabaseError or getattr(exc, "sqlite_errorname", "") in (
        "SQLITE_CORRUPT",
        "SQLITE_NOTADB",
    )
    if not damaged:  # busy, read-only, disk I/O: the file itself may be fine
        return QueueError(f"The correction queue {path} cannot be used: {exc}.")
    return QueueError(
        f"The correction queue {path} cannot be used: it is damaged ({exc}). Move it away and "
        "Sorter starts a new, empty queue (its corrections are lost unless you have a backup)."
    )


@contextmanager
def _transaction(conn: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[None]:
    """Commit on success, roll back on any error (the connection is in autocommit mode)."""
    conn.execute(begin)
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    conn.execute("COMMIT")


def _row_to_correction(row: sqlite3.Row) -> Correction:
    return Correction(
        id=row["id"],
        sha256=row["sha256"],
        labels=json.loads(row["labels"]),
        scores=json.loads(row["scores"]) if row["scores"] else None,
        model_version=row["model_version"],
        source_path=row["source_path"],
        created=row["created"],
        used_in_version=row["used_in_version"],
        image_format=row["image_format"],
    )


_COLUMNS = (
    "id, sha256, labels, scores, model_version, source_path, created, used_in_version, image_format"
)


class CorrectionQueue:
    """The queue file. Each call opens its own short connection, so any thread may use it."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_queue_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:  # create or migrate now, so a bad file is reported at once
            _check_pages(conn)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            # isolation_level=None: transactions are opened explicitly, DDL included
            with closing(sqlite3.connect(self.path, timeout=BUSY_S, isolation_level=None)) as conn:
                conn.row_factory = sqlite3.Row
                _upgrade(conn)
                with _transaction(conn):
                    yield conn
        except sqlite3.DatabaseError as exc:
            raise _queue_error(self.path, exc) from exc

    def add(
        self,
        image_path: str | Path,
        labels: Sequence[str],
        scores: Mapping[str, float] | None = None,
        model_version: str | None = None,
    ) -> Correction:
        """Queue a corrected image; correcting the same image again replaces its row.

        Raises:
            BadPathError: the file does not exist.
            ImageError: the file is not a readable image.
        """
        path = Path(image_path)
        if not path.is_file():
            raise BadPathError(f"There is no image file at {path}.")
        data, fmt = small_copy(path)
        sha = file_sha256(path)
        clean = clean_labels(labels)
        score_text = json.dumps({k: float(v) for k, v in scores.items()}) if scores else None
        created = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connect() as conn:
            conn.execute("DELETE FROM corrections WHERE sha256 = ?", (sha,))
            cur = conn.execute(
                "INSERT INTO corrections (sha256, labels, scores, model_version, source_path,"
                " created, image, image_format) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (sha, json.dumps(clean), score_text, model_version, str(path), created, data, fmt),
            )
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM corrections WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
        log.info("Queued correction %s for %s: %s", row["id"], path.name, clean or "none")
        return _row_to_correction(row)

    def list(self, include_used: bool = False) -> list[Correction]:
        """Corrections, oldest first; used ones only when asked."""
        where = "" if include_used else " WHERE used_in_version IS NULL"
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM corrections{where} ORDER BY id").fetchall()
        return [_row_to_correction(r) for r in rows]

    def get(self, correction_id: int) -> Correction:
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM corrections WHERE id = ?", (correction_id,)
            ).fetchone()
        if row is None:
            raise QueueError(f"There is no correction number {correction_id} in the queue.")
        return _row_to_correction(row)

    def find(self, sha256: str) -> Correction | None:
        """The correction for an image with this content hash, if any."""
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM corrections WHERE sha256 = ?", (sha256,)
            ).fetchone()
        return _row_to_correction(row) if row else None

    def remove(self, correction_id: int) -> None:
        """Delete one correction.

        Raises:
            QueueError: there is no correction with that number.
        """
        with self._connect() as conn:
            cur = conn.execute("DELETE FROM corrections WHERE id = ?", (correction_id,))
        if cur.rowcount == 0:
            raise QueueError(f"There is no correction number {correction_id} in the queue.")

    def clear(self, include_used: bool = True) -> int:
        """Delete corrections (all by default); returns how many went."""
        where = "" if include_used else " WHERE used_in_version IS NULL"
        with self._connect() as conn:
            return conn.execute(f"DELETE FROM corrections{where}").rowcount

    def pending_count(self) -> int:
        """How many corrections wait for the next retrain."""
        with self._connect() as conn:
            sql = "SELECT COUNT(*) FROM corrections WHERE used_in_version IS NULL"
            return conn.execute(sql).fetchone()[0]

    def mark_used(self, ids: Iterable[int], version: str) -> int:
        """Mark corrections as used by a promoted model version (they stay in the file)."""
        id_list = [int(i) for i in ids]
        with self._connect() as conn:
            cur = conn.executemany(
                "UPDATE corrections SET used_in_version = ? WHERE id = ?",
                [(version, i) for i in id_list],
            )
            return cur.rowcount

    def image_bytes(self, correction_id: int) -> bytes:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT image FROM corrections WHERE id = ?", (correction_id,)
            ).fetchone()
        if row is None:
            raise QueueError(f"There is no correction number {correction_id} in the queue.")
        return bytes(row["image"])

    def open_image(self, correction_id: int) -> Image.Image:
        """The stored small copy, decoded (RGB, or RGBA where the photo had transparency)."""
        img = Image.open(io.BytesIO(self.image_bytes(correction_id)))
        img.load()
        return img

    def export_images(self, folder: Path, corrections: Iterable[Correction]) -> dict[int, Path]:
        """Write the stored copies as files (for training); returns id -> file."""
        folder.mkdir(parents=True, exist_ok=True)
        written: dict[int, Path] = {}
        for corr in corrections:
            ext = ".png" if corr.image_format == "PNG" else ".jpg"
            path = folder / f"correction-{corr.id}{ext}"
            path.write_bytes(self.image_bytes(corr.id))
            written[corr.id] = path
        return written
