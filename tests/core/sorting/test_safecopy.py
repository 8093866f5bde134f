"""stage_file + commit_staged: the two halves of place_file, and what each leaves on disk."""

from __future__ import annotations

import errno
import os

import pytest

import sorter.core.sorting.safecopy as safecopy
from sorter.core.errors import OutOfSpaceError
from sorter.core.sorting.safecopy import (
    COPIED,
    IDENTICAL,
    LINKED,
    commit_staged,
    place_file,
    stage_file,
)


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "in" / "a.jpg"
    path.parent.mkdir()
    path.write_bytes(b"photo bytes" * 100)
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return path


def temps(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(safecopy.TEMP_PREFIX)]


def test_stage_writes_only_a_temp_then_commit_names_it(src, tmp_path):
    folder = tmp_path / "out"
    staged = stage_file(src, folder)
    assert staged.status == COPIED and staged.tmp is not None
    assert os.listdir(folder) == [os.path.basename(staged.tmp)]
    noted = []
    placed = commit_staged(staged, before_write=noted.append)
    assert noted == [folder / "a.jpg"] and placed.dest == folder / "a.jpg"
    assert placed.sha256 == safecopy.file_sha256(src) and placed.size == src.stat().st_size
    assert os.listdir(folder) == ["a.jpg"]
    assert (folder / "a.jpg").stat().st_mtime_ns == src.stat().st_mtime_ns


def test_commits_in_order_take_numbered_names(src, tmp_path):
    folder = tmp_path / "out"
    other = tmp_path / "in2" / "a.jpg"
    other.parent.mkdir()
    other.write_bytes(b"another photo")
    first, second = stage_file(src, folder), stage_file(other, folder)
    assert commit_staged(second).dest == folder / "a.jpg"
    assert commit_staged(first).dest == folder / "a (2).jpg"
    assert (folder / "a (2).jpg").read_bytes() == src.read_bytes()


def test_identical_content_already_there_writes_nothing(src, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    place_file(src, folder)
    monkeypatch.setattr(safecopy, "_copy_bytes", lambda *a: pytest.fail("copied again"))
    staged = stage_file(src, folder)
    assert staged.tmp is None and staged.status == IDENTICAL
    called = []
    placed = commit_staged(staged, before_write=called.append)
    assert placed.status == IDENTICAL and placed.dest == folder / "a.jpg" and called == []
    assert sorted(os.listdir(folder)) == ["a.jpg"]


def test_identical_content_arriving_after_staging_drops_the_temp(src, tmp_path):
    folder = tmp_path / "out"
    early, late = stage_file(src, folder), stage_file(src, folder)
    assert commit_staged(early).status == COPIED
    placed = commit_staged(late)  # the same photo reached through another subfolder
    assert placed.status == IDENTICAL and placed.dest == folder / "a.jpg"
    assert os.listdir(folder) == ["a.jpg"]


def test_identical_file_changed_after_staging_gets_a_real_copy(src, tmp_path):
    folder = tmp_path / "out"
    place_file(src, folder)
    staged = stage_file(src, folder)
    assert staged.tmp is None
    (folder / "a.jpg").unlink()
    (folder / "a.jpg").write_bytes(b"edited by the user")
    placed = commit_staged(staged)
    assert placed.status == COPIED and placed.dest == folder / "a (2).jpg"
    assert placed.dest.read_bytes() == src.read_bytes()
    assert (folder / "a.jpg").read_bytes() == b"edited by the user"
    assert temps(folder) == []


def test_link_staging_hashes_the_content(src, tmp_path):
    staged = stage_file(src, tmp_path / "out", link=True)
    assert staged.status == LINKED and staged.sha256 == safecopy.file_sha256(src)
    placed = commit_staged(staged)
    assert placed.dest.stat().st_ino == src.stat().st_ino


def test_disk_full_while_staging_leaves_nothing(src, tmp_path, monkeypatch):
    def full(source, tmp):
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safecopy, "_copy_bytes", full)
    with pytest.raises(OutOfSpaceError, match="nothing partial was left"):
        stage_file(src, tmp_path / "out")
    assert os.listdir(tmp_path / "out") == []


def test_failure_while_committing_removes_the_temp(src, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    staged = stage_file(src, folder)

    def journal_fails(dest):
        raise RuntimeError("journal is gone")

    with pytest.raises(RuntimeError):
        commit_staged(staged, before_write=journal_fails)
    assert os.listdir(folder) == []

    staged = stage_file(src, folder)

    def no_room(tmp, dest):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safecopy, "_commit_name", no_room)
    with pytest.raises(OutOfSpaceError):
        commit_staged(staged)
    assert os.listdir(folder) == []
