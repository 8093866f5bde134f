"""--link, --move and undo: exactly the run's own unchanged files go, moved images come back."""

from __future__ import annotations

import errno
import os

import pytest
from fakes import fake_score, tree_hashes

import sorter.core.sorting.safecopy as safecopy
from sorter.core.errors import BadPathError
from sorter.core.sorting.journal import Journal
from sorter.core.sorting.sort import sort_folder
from sorter.core.sorting.undo import undo_run


class Crash(BaseException):
    """Stands for the process dying."""


def run(src, out, model, **kw):
    return sort_folder(src, out, model=model, score=fake_score, **kw)


def test_link_mode_makes_hard_links(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    summary = run(photos, out, fake_model, mode="link")
    assert os.path.samefile(out / "cats" / "purple.png", photos / "purple.png")
    assert os.path.samefile(out / "dogs" / "purple.png", photos / "purple.png")
    assert summary.linked == summary.copied == 7
    again = run(photos, out, fake_model, mode="link")
    assert again.skipped_identical == 7 and again.copied == 0


def test_link_mode_falls_back_to_copies(photos, fake_model, tmp_path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(safecopy.os, "link", no_links)
    out = tmp_path / "out"
    summary = run(photos, out, fake_model, mode="link")
    assert summary.linked == 0 and summary.copied == 7
    assert not os.path.samefile(out / "cats" / "red.jpg", photos / "red.jpg")
    assert (out / "cats" / "red.jpg").read_bytes() == (photos / "red.jpg").read_bytes()


def test_move_then_undo_puts_every_file_back(photos, fake_model, tmp_path):
    (photos / "broken.jpg").write_bytes(b"not an image")
    before = tree_hashes(photos)
    times = {p: p.stat().st_mtime_ns for p in photos.rglob("*") if p.is_file()}
    out = tmp_path / "out"
    summary = run(photos, out, fake_model, mode="move")
    assert summary.moved == 6
    assert set(tree_hashes(photos)) == {"broken.jpg"}  # unreadable: never moved
    assert (out / "cats" / "purple.png").exists() and (out / "dogs" / "purple.png").exists()
    result = undo_run(out)
    assert result.restored == 6 and result.kept == []
    assert tree_hashes(photos) == before
    assert {p: p.stat().st_mtime_ns for p in times} == times
    assert set(tree_hashes(out)) == {"sorter-report.csv"}


def test_move_crash_after_source_removed_resumes(photos, fake_model, tmp_path, monkeypatch):
    before = tree_hashes(photos)
    out = tmp_path / "out"
    original = Journal.move_state
    calls = {"n": 0}

    def crash_on_third_done(self, run_id, seq, source, sha, state):
        if state == "done":
            calls["n"] += 1
            if calls["n"] == 3:
                raise Crash()
        return original(self, run_id, seq, source, sha, state)

    monkeypatch.setattr(Journal, "move_state", crash_on_third_done)
    with pytest.raises(Crash):
        run(photos, out, fake_model, mode="move")
    monkeypatch.undo()
    summary = run(photos, out, fake_model, mode="move")
    assert summary.resumed and summary.moved == 6
    assert tree_hashes(photos) == {}
    undo_run(out)
    assert tree_hashes(photos) == before


def test_undo_removes_only_unchanged_copies_and_never_other_files(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    (out / "cats").mkdir(parents=True)
    (out / "cats" / "red.jpg").write_bytes((photos / "red.jpg").read_bytes())  # already there
    run(photos, out, fake_model)
    (out / "dogs" / "blue.png").write_bytes(b"edited by the user")
    (out / "dogs" / "notes.txt").write_text("the user's own file")
    result = undo_run(out)
    left = set(tree_hashes(out))
    assert left == {"cats/red.jpg", "dogs/blue.png", "dogs/notes.txt", "sorter-report.csv"}
    reasons = dict(result.kept)
    assert reasons[str(out / "dogs" / "blue.png")] == "changed since the run copied it"
    assert reasons[str(out / "dogs")] == "folder not empty"
    assert not (out / "uncertain").exists()  # created by the run, empty again: removed
    assert (out / "cats").exists()  # existed before the run


def test_undo_picks_runs_and_refuses_twice(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    first = run(photos, out, fake_model)
    run(photos, out, fake_model, default_threshold=0.01)
    undo_run(out, first.run_id)
    assert not (out / "cats" / "red.jpg").exists()
    assert (out / "dogs" / "red.jpg").exists()  # the second run's copy stays
    with pytest.raises(BadPathError, match="already undone"):
        undo_run(out, first.run_id)
    with pytest.raises(BadPathError, match="no run 99"):
        undo_run(out, 99)


def test_undo_without_journal_is_refused(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(BadPathError, match="no Sorter journal"):
        undo_run(tmp_path / "plain")


def test_undo_skips_a_rerun_that_wrote_nothing(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    first = run(photos, out, fake_model)
    second = run(photos, out, fake_model)  # everything already there: wrote nothing
    assert second.copied == 0
    result = undo_run(out)
    assert result.run_id == first.run_id and result.removed == 7
    with pytest.raises(BadPathError, match="Nothing to undo"):
        undo_run(out)
