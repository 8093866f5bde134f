"""The queue file under two first users at once and after kill -9 at chosen points."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from sorter.core.learning.queue import SCHEMA_VERSION, CorrectionQueue

TRIALS, USERS = 30, 4

# One user: at each trial's start instant, open that trial's fresh queue and add its own photo.
_USER = """
import json, sys, time
from sorter.core.learning.queue import CorrectionQueue
folder, photo, trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
first, step = float(sys.argv[4]), float(sys.argv[5])
failures = []
for t in range(trials):
    while time.time() < first + t * step:
        time.sleep(0.0005)
    try:
        CorrectionQueue(f"{folder}/q{t}.sqlite").add(photo, ["x"])
    except Exception as exc:
        failures.append(f"trial {t}: {exc}")
print(json.dumps(failures))
"""


def _photo(path: Path, shade: int) -> Path:
    Image.new("RGB", (32, 24), (shade, 40, 200)).save(path)
    return path


def test_first_users_at_once_all_succeed(tmp_path: Path) -> None:
    first = time.time() + 3.0  # every user has imported before the first trial starts

    def user(i: int) -> subprocess.Popen:
        photo = _photo(tmp_path / f"{i}.jpg", 60 * i)
        args = [str(tmp_path), str(photo), str(TRIALS), str(first), "0.25"]
        return subprocess.Popen([sys.executable, "-c", _USER, *args], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip

    users = [user(i) for i in range(USERS)]
    outputs = [u.communicate(timeout=180) for u in users]
    assert [u.returncode for u in users] == [0] * USERS, [err for _, err in outputs]
    failures = [f for out, _ in outputs for f in json.loads(out)]
    assert failures == [], f"{len(failures)} of {TRIALS * USERS} first opens failed"
    for t in range(TRIALS):
        assert CorrectionQueue(tmp_path / f"q{t}.sqlite").pending_count() == USERS


def _v1_file(path: Path) -> None:
    """A queue as the first schema wrote it (comma-joined labels, no used mark), unstamped."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE corrections (id INTEGER PRIMARY KEY AUTOINCREMENT, sha256 TEXT UNIQUE,"
            " labels TEXT, scores TEXT, model_version TEXT, source_path TEXT, created TEXT,"
            " image BLOB)"
        )
        for i in (7, 8):
            conn.execute(
                "INSERT INTO corrections VALUES (?, ?, 'cats,dogs', NULL, NULL, '', 'x', ?)",
                (i, f"sha{i}", b"\xff\xd8 jpeg"),
            )


# Open (create or migrate) a queue, SIGKILLing this process as the chosen statement starts.
_KILLED_OPEN = """
import os, signal, sqlite3, sys
path, marker = sys.argv[1], sys.argv[2]
real = sqlite3.connect
def connect(*args, **kwargs):
    conn = real(*args, **kwargs)
    conn.set_trace_callback(lambda sql: marker in sql and os.kill(os.getpid(), signal.SIGKILL))
    return conn
sqlite3.connect = connect
from sorter.core.learning.queue import CorrectionQueue
CorrectionQueue(path)
sys.exit(5)  # the chosen statement never ran
"""


@pytest.mark.parametrize(
    ("start", "marker"),
    [
        ("new", "corrections_used ON"),  # tables made, index not yet
        ("new", "PRAGMA user_version ="),  # everything made, not yet stamped
        ("v1", "corrections_used ON"),  # mid-migration: old table renamed, new one made
        ("v1", "INSERT INTO corrections ("),  # rows half copied
        ("v1", "DROP TABLE corrections_v1"),
        ("v1", "PRAGMA user_version ="),
    ],
)
def test_a_kill_at_any_point_of_creation_or_migration_leaves_a_usable_queue(
    tmp_path: Path, start: str, marker: str
) -> None:
    path = tmp_path / "q.sqlite"
    if start == "v1":
        _v1_file(path)
    proc = subprocess.run([sys.executable, "-c", _KILLED_OPEN, str(path), marker], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    queue = CorrectionQueue(path)
    assert [(c.id, c.labels) for c in queue.list()] == (
        [(7, ["cats", "dogs"]), (8, ["cats", "dogs"])] if start == "v1" else []
    )
    added = queue.add(_photo(tmp_path / "a.jpg", 1), ["owls"])
    assert queue.pending_count() == (3 if start == "v1" else 1)
    queue.mark_used([added.id], "v2")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_queue_with_tables_but_no_version_stamp_opens_and_works(tmp_path: Path) -> None:
    """What an older Sorter killed between creating the tables and stamping them left."""
    path = tmp_path / "q.sqlite"
    CorrectionQueue(path).add(_photo(tmp_path / "a.jpg", 1), ["cats"])
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX corrections_used")
        conn.execute("PRAGMA user_version = 0")
    queue = CorrectionQueue(path)
    assert [c.labels for c in queue.list()] == [["cats"]]
    queue.add(_photo(tmp_path / "b.jpg", 120), ["dogs"])
    assert queue.pending_count() == 2
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        index = "SELECT 1 FROM sqlite_master WHERE name = 'corrections_used'"
        assert conn.execute(index).fetchone()
