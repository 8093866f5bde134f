"""Crashes, Ctrl-C and a full disk mid-sort: resuming gives the tree an uninterrupted run gives."""

from __future__ import annotations

import errno
import os

import pytest
from fakes import fake_score, make_image, tree_hashes

import sorter.core.sorting.safecopy as safecopy
from sorter.core.errors import LockedError, OutOfSpaceError
from sorter.core.jobs import Cancelled, CancelToken
from sorter.core.sorting.journal import Journal
from sorter.core.sorting.outputlock import OutputLock
from sorter.core.sorting.sort import sort_folder
from sorter.core.sorting.undo import undo_run


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing is reported or retried."""


def run(src, out, model, **kw):
    return sort_folder(src, out, model=model, score=fake_score, **kw)


@pytest.fixture
def reference(photos, fake_model, tmp_path):
    """The tree an uninterrupted run gives."""
    run(photos, tmp_path / "ref", fake_model)
    return tree_hashes(tmp_path / "ref")


def fail_on_call(monkeypatch, target, name, n, exc):
    """Make target.name raise exc on its n-th call (1-based)."""
    original = getattr(target, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise exc
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, wrapper)


def no_temp_files(root):
    return [p for p in root.rglob(f"{safecopy.TEMP_PREFIX}*")]


@pytest.mark.parametrize("n", [1, 3, 6])
def test_crash_while_copying_then_resume(photos, fake_model, tmp_path, reference, monkeypatch, n):
    out = tmp_path / "out"
    fail_on_call(monkeypatch, safecopy, "_copy_bytes", n, Crash())
    with pytest.raises(Crash):
        run(photos, out, fake_model)
    monkeypatch.undo()
    summary = run(photos, out, fake_model)
    assert summary.resumed
    assert tree_hashes(out) == reference
    assert no_temp_files(out) == []


def test_crash_after_rename_before_journal_entry(
    photos, fake_model, tmp_path, reference, monkeypatch
):
    out = tmp_path / "out"
    fail_on_call(monkeypatch, Journal, "op_done", 4, Crash())
    with pytest.raises(Crash):
        run(photos, out, fake_model)
    monkeypatch.undo()
    summary = run(photos, out, fake_model)
    assert tree_hashes(out) == reference  # the renamed file is recognised, not doubled
    assert summary.copied == 7
    undo_run(out)
    assert set(tree_hashes(out)) == {"sorter-report.csv"}  # and it counts as this run's copy


def test_leftover_temp_files_are_cleaned_on_resume(photos, fake_model, tmp_path, reference):
    out = tmp_path / "out"
    run(photos, out, fake_model, dry_run=False)
    stray = out / "cats" / f"{safecopy.TEMP_PREFIX}dead{safecopy.TEMP_SUFFIX}"
    stray.write_bytes(b"half a photo")
    user_file = out / "cats" / ".sorter-notes.txt"
    user_file.write_text("not ours")
    run(photos, out, fake_model)
    assert not stray.exists()
    assert user_file.exists()


def test_full_disk_leaves_no_partial_file_and_resumes(
    photos, fake_model, tmp_path, reference, monkeypatch
):
    out = tmp_path / "out"
    calls = {"n": 0}
    real_copy = safecopy._copy_bytes

    def filling_copy(source, tmp):
        calls["n"] += 1
        if calls["n"] < 4:
            return real_copy(source, tmp)
        with open(tmp, "wb") as f:
            f.write(b"partial")  # what a full disk leaves before ENOSPC
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safecopy, "_copy_bytes", filling_copy)
    with pytest.raises(OutOfSpaceError, match="full"):
        run(photos, out, fake_model)
    assert no_temp_files(out) == []
    for rel, digest in tree_hashes(out).items():
        assert reference[rel] == digest  # every file there is complete
    monkeypatch.undo()
    run(photos, out, fake_model)
    assert tree_hashes(out) == reference


def test_cancel_keeps_only_complete_copies_then_resume(photos, fake_model, tmp_path, reference):
    out = tmp_path / "out"
    cancel = CancelToken()

    def progress(p):
        if p.stage == "Copying" and p.done == 3:
            cancel.cancel()

    with pytest.raises(Cancelled):
        run(photos, out, fake_model, progress=progress, cancel=cancel)
    partial = tree_hashes(out)
    assert 0 < len(partial) < len(reference)
    assert all(reference[rel] == digest for rel, digest in partial.items())
    summary = run(photos, out, fake_model)
    assert summary.resumed and summary.scores_reused == 6
    assert tree_hashes(out) == reference


def test_cancel_while_scoring_keeps_scores(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    cancel = CancelToken()

    def score_then_cancel(model, paths, **kw):  # Ctrl-C once 3 images are scored
        for n, scored in enumerate(fake_score(model, paths, **kw), start=1):
            yield scored
            if n == 3:
                cancel.cancel()

    with pytest.raises(Cancelled):
        sort_folder(photos, out, model=fake_model, score=score_then_cancel, cancel=cancel,
                    batch_size=2)  # fmt: skip
    assert not (out / "cats").exists()  # cancelled before anything was copied
    summary = run(photos, out, fake_model)
    assert summary.scores_reused == 3
    assert len(fake_score.calls[-1]) == 6 - 3  # only the images not scored before
    assert tree_hashes(out)  # and the sort finished


def test_second_run_into_same_out_is_refused(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out), pytest.raises(LockedError, match="Another Sorter run"):
        run(photos, out, fake_model)
    run(photos, out, fake_model)  # the lock is free again


def test_changed_thresholds_start_a_new_run(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    first = run(photos, out, fake_model)
    second = run(photos, out, fake_model, default_threshold=0.01)
    assert second.run_id != first.run_id and not second.resumed
    assert (out / "dogs" / "red.jpg").exists()
    undo_run(out)  # undoes only the second run's additions
    assert not (out / "dogs" / "red.jpg").exists()
    assert (out / "cats" / "red.jpg").exists()


def test_unreadable_source_reported_and_run_goes_on(photos, fake_model, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_open = safecopy._copy_bytes

    def deny(source, tmp):
        if source.name == "red.jpg":
            raise PermissionError(errno.EACCES, "Permission denied", str(source))
        return real_open(source, tmp)

    monkeypatch.setattr(safecopy, "_copy_bytes", deny)
    summary = run(photos, out, fake_model)
    assert summary.failed == 1
    assert ("%s" % (photos / "red.jpg"), "permission denied") in summary.errors
    assert (out / "dogs" / "blue.png").exists()
    assert not os.path.exists(out / "cats" / "red.jpg")


def test_many_same_names_resume_keeps_numbering(tmp_path, fake_model, monkeypatch):
    src = tmp_path / "src"
    for i in range(6):
        make_image(src / f"d{i}" / "IMG_0001.JPG", (200 + i * 5, 0, 0))
    run(src, tmp_path / "ref", fake_model)
    fail_on_call(monkeypatch, safecopy, "_copy_bytes", 4, Crash())
    with pytest.raises(Crash):
        run(src, tmp_path / "out", fake_model)
    monkeypatch.undo()
    run(src, tmp_path / "out", fake_model)
    assert tree_hashes(tmp_path / "out") == tree_hashes(tmp_path / "ref")
