"""apply_plan's copy pipeline: staged on threads, named in plan order, nothing left half-done."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest
from fakes import make_image, tree_hashes

import sorter.core.sorting.apply as apply
import sorter.core.sorting.safecopy as safecopy
from sorter.core.errors import OutOfSpaceError
from sorter.core.jobs import Cancelled, CancelToken
from sorter.core.model.predict import ScoredImage
from sorter.core.sorting.report import ALREADY_THERE, FAILED
from sorter.core.sorting.sort import plan_sort

CATS = [0.9, 0.1]
BOTH = [0.9, 0.9]


class Crash(BaseException):
    """Stands for the process dying in the middle of a copy."""


@pytest.fixture(autouse=True)
def pipeline(monkeypatch):
    """The same pool size on every machine, staging far enough ahead for these tests."""
    monkeypatch.setattr(apply, "COPY_WORKERS", 4)
    monkeypatch.setattr(apply, "STAGE_AHEAD", 12)


def make_sources(root, n, name="a.jpg"):
    """n images with the same file name and different content, in subfolders s00, s01, ..."""
    return [make_image(root / f"s{i:02d}" / name, (10 + 9 * i, 200 - 7 * i, 40)) for i in range(n)]


def plan_for(src, out, paths, scores=CATS):
    return plan_sort(src, out, [ScoredImage(p, list(scores)) for p in paths], ["cats", "dogs"], 0.5)


def temp_files(root):
    return list(root.rglob(f"{safecopy.TEMP_PREFIX}*"))


def digest(path):
    return safecopy.file_sha256(path)


def slow_copies(monkeypatch, *, until=None, fail=None):
    """Wrap _copy_bytes: `fail(source, tmp)` may raise; the copy of `until[0]` waits until the
    copy of `until[1]` is finished, so later images are surely staged before it completes."""
    real = safecopy._copy_bytes
    finished = {}

    def copy(source, tmp):
        if until is not None and source == until[0]:
            finished.setdefault(until[1], threading.Event()).wait(10)
        if fail is not None:
            fail(source, tmp)
        sha = real(source, tmp)
        finished.setdefault(source, threading.Event()).set()
        return sha

    monkeypatch.setattr(safecopy, "_copy_bytes", copy)
    return finished


def test_same_names_get_plan_order_numbers(tmp_path, monkeypatch):
    sources = make_sources(tmp_path / "src", 12)
    order = sources[::2] + sources[1::2]  # plan order differs from the folder order
    # the first image's copy finishes last: naming must still follow the plan
    slow_copies(monkeypatch, until=(order[0], order[9]))
    summary = apply.apply_plan(plan_for(tmp_path / "src", tmp_path / "out", order))
    names = ["a.jpg"] + [f"a ({k}).jpg" for k in range(2, 13)]
    assert [o.destinations for o in summary.outcomes] == [[Path("cats", n)] for n in names]
    for name, source in zip(names, order, strict=True):
        assert digest(tmp_path / "out" / "cats" / name) == digest(source)
    assert temp_files(tmp_path / "out") == []


def test_rerun_into_same_out_writes_nothing(tmp_path, monkeypatch):
    sources = [*make_sources(tmp_path / "src", 6), make_image(tmp_path / "src" / "b.png")]
    out = tmp_path / "out"
    apply.apply_plan(plan_for(tmp_path / "src", out, sources, BOTH))
    before = {p: os.stat(p).st_ino for p in out.glob("[cd]*/*")}

    def no_copy(source, tmp):
        raise AssertionError(f"copied {source} again")

    monkeypatch.setattr(safecopy, "_copy_bytes", no_copy)
    summary = apply.apply_plan(plan_for(tmp_path / "src", out, sources, BOTH))
    assert [o.status for o in summary.outcomes] == [ALREADY_THERE] * 7
    assert summary.copied == 0 and summary.skipped_identical == 14
    after = {p: os.stat(p).st_ino for p in out.glob("[cd]*/*")}
    assert after == before


def test_one_unreadable_source_fails_alone(tmp_path, monkeypatch):
    sources = make_sources(tmp_path / "src", 10)
    sources[3].unlink()  # vanished between planning and copying

    def deny(source, tmp):
        if source == sources[6]:
            raise PermissionError(errno.EACCES, "Permission denied", str(source))

    slow_copies(monkeypatch, fail=deny)
    summary = apply.apply_plan(plan_for(tmp_path / "src", tmp_path / "out", sources))
    failed = {o.source: o.error for o in summary.outcomes if o.status == FAILED}
    assert set(failed) == {sources[3], sources[6]} and failed[sources[6]] == "permission denied"
    assert summary.copied == 8
    assert len(list((tmp_path / "out" / "cats").iterdir())) == 8
    assert temp_files(tmp_path / "out") == []


def disk_full(source, tmp):
    with open(tmp, "wb") as f:
        f.write(b"partial")  # what a full disk leaves behind before ENOSPC
    raise OSError(errno.ENOSPC, "No space left on device")


def crash(source, tmp):
    raise Crash()


@pytest.mark.parametrize(("fail", "raised"), [(disk_full, OutOfSpaceError), (crash, Crash)])
def test_failure_while_staging_removes_every_staged_temp(tmp_path, monkeypatch, fail, raised):
    src, out = tmp_path / "src", tmp_path / "out"
    sources = make_sources(src, 16)
    complete = apply.apply_plan(plan_for(src, tmp_path / "ref", sources, BOTH))
    assert complete.copied == 32

    def fail_on_fourth(source, tmp):
        if source == sources[3]:
            fail(source, tmp)

    slow_copies(monkeypatch, until=(sources[3], sources[9]), fail=fail_on_fourth)
    with pytest.raises(raised):
        apply.apply_plan(plan_for(src, out, sources, BOTH))
    assert temp_files(out) == []
    partial = tree_hashes(out)
    reference = tree_hashes(tmp_path / "ref")
    assert len(partial) == 6  # the three images before the failing one, in two folders each
    assert all(reference[rel] == sha for rel, sha in partial.items())
    monkeypatch.undo()
    summary = apply.apply_plan(plan_for(src, out, sources, BOTH))
    assert summary.resumed and tree_hashes(out) == reference


def test_cancel_midway_leaves_no_temp_and_resumes(tmp_path, monkeypatch):
    src, out = tmp_path / "src", tmp_path / "out"
    sources = make_sources(src, 20)
    apply.apply_plan(plan_for(src, tmp_path / "ref", sources))
    cancel = CancelToken()

    def progress(p):
        if p.done == 3:  # once later images are surely staged
            finished.setdefault(sources[8], threading.Event()).wait(10)
            cancel.cancel()

    finished = slow_copies(monkeypatch)
    with pytest.raises(Cancelled):
        apply.apply_plan(plan_for(src, out, sources), progress=progress, cancel=cancel)
    assert temp_files(out) == []
    assert sorted(p.name for p in (out / "cats").iterdir()) == ["a (2).jpg", "a (3).jpg", "a.jpg"]
    monkeypatch.undo()
    summary = apply.apply_plan(plan_for(src, out, sources))
    assert summary.resumed
    assert tree_hashes(out) == tree_hashes(tmp_path / "ref")
