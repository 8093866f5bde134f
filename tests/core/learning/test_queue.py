"""Tests for the correction queue: replace on same image, none-labels, used marks, migration."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from sorter import appdirs
from sorter.core.errors import BadPathError, ImageError
from sorter.core.learning.queue import (
    SCHEMA_VERSION,
    CorrectionQueue,
    QueueError,
    file_sha256,
)


def _photo(path: Path, color=(200, 30, 30), size=(1200, 800), mode="RGB") -> Path:
    Image.new(mode, size, color).save(path)
    return path


def test_default_location_is_the_data_folder() -> None:
    queue = CorrectionQueue()
    assert queue.path == appdirs.data_dir() / "corrections.sqlite"
    assert queue.path.exists()


def test_add_keeps_a_small_copy_and_everything_known(tmp_path: Path) -> None:
    src = _photo(tmp_path / "big.jpg")
    queue = CorrectionQueue(tmp_path / "q.sqlite")
    corr = queue.add(src, ["cats", " dogs ", "cats"], scores={"cats": 0.4}, model_version="v3")
    assert corr.labels == ["cats", "dogs"]
    assert corr.scores == {"cats": 0.4}
    assert corr.model_version == "v3"
    assert corr.sha256 == file_sha256(src)
    assert corr.source_path == str(src)
    assert corr.used_in_version is None
    img = queue.open_image(corr.id)
    assert max(img.size) == 512 and img.size == (512, 341)
    # the photo may move or vanish later: the queue still has its copy
    src.unlink()
    assert queue.open_image(corr.id).size == (512, 341)


def test_transparent_images_keep_their_alpha(tmp_path: Path) -> None:
    src = _photo(tmp_path / "stamp.png", color=(0, 0, 255, 0), size=(100, 60), mode="RGBA")
    queue = CorrectionQueue(tmp_path / "q.sqlite")
    corr = queue.add(src, ["x"])
    assert corr.image_format == "PNG"
    assert queue.open_image(corr.id).mode == "RGBA"


def test_recorrecting_the_same_image_replaces_its_row(tmp_path: Path) -> None:
    queue = CorrectionQueue(tmp_path / "q.sqlite")
    first = _photo(tmp_path / "a.jpg")
    copy = tmp_path / "elsewhere.jpg"
    copy.write_bytes(first.read_bytes())  # same content, other name
    queue.add(first, ["cats"])
    queue.add(_photo(tmp_path / "b.jpg", color=(0, 90, 0)), ["dogs"])
    again = queue.add(copy, ["birds"])
    rows = queue.list()
    assert len(rows) == 2
    assert [r.labels for r in rows] == [["dogs"], ["birds"]]
    assert again.source_path == str(copy)


def test_none_of_these_is_an_empty_label_list(tmp_path: Path) -> None:
    queue = CorrectionQueue(tmp_path / "q.sqlite")
    corr = queue.add(_photo(tmp_path / "a.jpg"), [])
    assert corr.labels == [] and corr.is_none
    assert queue.list()[0].labels == []


def test_remove_clear_and_pending_count(tmp_path: Path) -> None:
    queue = CorrectionQueue(tmp_path / "q.sqlite")
    ids = [
        queue.add(_photo(tmp_path / f"{i}.jpg", color=(i * 40, 0, 0)), ["a"]).id for i in range(3)
    ]
    assert queue.pending_count() == 3
    queue.remove(ids[1])
    assert [c.id for c in queue.list()] == [ids[0], ids[2]]
    with pytest.raises(QueueError):
        queue.remove(ids[1])
    assert queue.clear() == 2
    assert queue.pending_count() == 0


def test_used_corrections_are_marked_not_deleted(tmp_path: Path) -> None:
    queue = CorrectionQueue(tmp_path / "q.sqlite")
    a = queue.add(_photo(tmp_path / "a.jpg"), ["a"])
    b = queue.add(_photo(tmp_path / "b.jpg", color=(1, 2, 3)), ["b"])
    assert queue.mark_used([a.id], "v2") == 1
    assert queue.pending_count() == 1
    assert [c.id for c in queue.list()] == [b.id]
    everything = queue.list(include_used=True)
    assert [(c.id, c.used_in_version) for c in everything] == [(a.id, "v2"), (b.id, None)]
    assert queue.clear(include_used=False) == 1
    assert [c.id for c in queue.list(include_used=True)] == [a.id]


def test_bad_inputs_give_clear_errors(tmp_path: Path) -> None:
    queue = CorrectionQueue(tmp_path / "q.sqlite")
    with pytest.raises(BadPathError):
        queue.add(tmp_path / "missing.jpg", ["a"])
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    with pytest.raises(ImageError, match=r"junk\.jpg"):
        queue.add(junk, ["a"])
    assert queue.list() == []


def test_a_damaged_queue_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "q.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(QueueError, match="cannot be used"):
        CorrectionQueue(bad)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    CorrectionQueue(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(QueueError, match="newer Sorter"):
        CorrectionQueue(path).list()


def _v1_file(path: Path, image: bytes, user_version: int) -> None:
    """A queue as the first schema wrote it: comma-joined labels, no used mark."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE corrections (id INTEGER PRIMARY KEY AUTOINCREMENT, sha256 TEXT UNIQUE,"
        " labels TEXT, scores TEXT, model_version TEXT, source_path TEXT, created TEXT,"
        " image BLOB)"
    )
    conn.execute(
        "INSERT INTO corrections VALUES (7, 'abc', 'cats,dogs', ?, 'v1', '/p/a.jpg',"
        " '2026-01-01T00:00:00+00:00', ?)",
        (json.dumps({"cats": 0.3}), image),
    )
    conn.execute(
        "INSERT INTO corrections VALUES (8, 'def', '', NULL, NULL, NULL, 'x', ?)", (image,)
    )
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("user_version", [0, 1])
def test_a_version_1_queue_is_migrated(tmp_path: Path, user_version: int) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), (9, 9, 9)).save(buf, "PNG")
    path = tmp_path / "old.sqlite"
    _v1_file(path, buf.getvalue(), user_version)
    queue = CorrectionQueue(path)
    rows = queue.list()
    assert [(r.id, r.labels) for r in rows] == [(7, ["cats", "dogs"]), (8, [])]
    assert rows[0].scores == {"cats": 0.3} and rows[0].model_version == "v1"
    assert rows[0].image_format == "PNG"
    assert queue.open_image(7).size == (10, 10)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    # and the migrated file works like a new one
    queue.mark_used([7], "v2")
    assert queue.pending_count() == 1
