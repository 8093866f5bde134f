"""Every folder the sort, undo and restore create goes through long_path with the folder limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakes import fake_score, make_photos

from sorter.core.sorting import safecopy
from sorter.core.sorting.journal import make_folder
from sorter.core.sorting.safecopy import restore_file
from sorter.core.sorting.sort import sort_folder


@pytest.fixture
def folder_calls(monkeypatch) -> list[Path]:
    """Paths given to long_path(..., folder=True): on Windows those get the prefix from 248."""
    calls: list[Path] = []
    real = safecopy.long_path  # the folder-making helpers live in safecopy

    def spy(path, windows=None, *, folder=False):
        if not folder:
            return real(path, windows)
        calls.append(Path(path))
        return real(path, windows, folder=True)

    monkeypatch.setattr(safecopy, "long_path", spy)
    return calls


def test_sort_creates_every_folder_through_the_folder_limit(tmp_path, fake_model, folder_calls):
    photos = make_photos(tmp_path / "Photos", 6)
    out = tmp_path / "deep" / "out"
    sort_folder(photos, out, model=fake_model, score=fake_score)
    created = {Path(d) for d, _, _ in os.walk(out)}
    assert created <= set(folder_calls), created - set(folder_calls)
    assert len(created) >= 3  # OUT, its .sorter state folder and the category folders


def test_make_folder_and_restore_use_the_folder_limit(tmp_path, folder_calls):
    make_folder(tmp_path / "a" / "b")
    assert tmp_path / "a" / "b" in folder_calls
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(b"x")
    assert restore_file(copy, tmp_path / "gone" / "photo.jpg")
    assert tmp_path / "gone" in folder_calls


def test_the_output_lock_and_journal_open_their_files_through_long_path(tmp_path, monkeypatch):
    """On Windows an OUT deep in a tree puts `.sorter/journal...` and the lock past MAX_PATH:
    both must be opened by their long_path form (here a spy that records and passes on)."""
    from sorter.core import files, locks
    from sorter.core.sorting import journal

    seen: list[tuple[Path, bool]] = []

    def spy(path, windows=None, *, folder=False):
        seen.append((Path(path), folder))
        return files.long_path(path, windows, folder=folder)

    monkeypatch.setattr(locks, "long_path", spy)
    monkeypatch.setattr(journal, "long_path", spy)
    with locks.FileLock(tmp_path / "locks" / "out.lock") as lock:
        lock.write_note("held")
        assert lock.read_note() == "held"
    with journal.Journal(tmp_path / "out") as j:
        assert j.path.is_file()
    assert (tmp_path / "locks", True) in seen  # its folder, with the folder limit
    assert seen.count((tmp_path / "locks" / "out.lock", False)) == 2  # opened, then read
    assert (j.path, False) in seen
