"""The journal (scores, plan, ops) and the output lock, even one left by a killed process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from fakes import make_image

from sorter.core.errors import BadPathError, LockedError
from sorter.core.sorting.journal import DONE, PENDING, Journal, state_dir
from sorter.core.sorting.outputlock import OutputLock

HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from sorter.core.sorting.outputlock import OutputLock
    lock = OutputLock(sys.argv[1])
    lock.acquire()
    print("locked", flush=True)
    time.sleep(60)
    """
)


def test_scores_are_kept_per_model_and_file_version(tmp_path):
    image = make_image(tmp_path / "a.jpg")
    with Journal(tmp_path / "out") as journal:
        journal.save_scores("model-1", [(image, [0.25, 0.75], None)])
        assert journal.cached_scores("model-1", [image]) == {image: ([0.25, 0.75], None)}
        assert journal.cached_scores("model-2", [image]) == {}
        os.utime(image, ns=(1, 1))  # the file changed: its old scores no longer count
        assert journal.cached_scores("model-1", [image]) == {}


def test_plan_and_ops_round_trip(tmp_path):
    with Journal(tmp_path) as journal:
        items = [("/s/a.jpg", ["cats"], None, ["cats"], [0.9]), ("/s/b.jpg", [], "bad", [], None)]
        run = journal.start_run(tmp_path, "copy", "sig", items, info={"categories": ["cats"]})
        assert journal.find_unfinished("sig") == run
        info, rows, skipped = journal.load_plan(run)
        assert info == {"categories": ["cats"]} and rows == items and skipped == []
        journal.op_pending(run, 0, "cats", "cats/a.jpg")
        assert journal.ops(run)[(0, "cats")].state == PENDING
        journal.op_done(run, 0, "cats", "cats/a.jpg", "copied", "abc", 3)
        assert journal.ops(run)[(0, "cats")].state == DONE
        journal.op_forget(run, 0, "cats")
        assert journal.ops(run) == {}
        journal.finish_run(run)
        assert journal.find_unfinished("sig") is None
    with Journal(tmp_path) as again:  # everything was committed
        assert [r.state for r in again.runs()] == [DONE]


def test_damaged_journal_gives_a_clear_error(tmp_path):
    state_dir(tmp_path).mkdir()
    (state_dir(tmp_path) / "journal.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(BadPathError, match="damaged"):
        Journal(tmp_path)


def test_lock_refuses_a_second_holder(tmp_path):
    with OutputLock(tmp_path), pytest.raises(LockedError, match=f"pid {os.getpid()}"):
        OutputLock(tmp_path).acquire()
    with OutputLock(tmp_path):  # released on exit
        pass


def test_lock_of_a_killed_process_does_not_block(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match=f"pid {holder.pid}"):
            OutputLock(tmp_path).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        assert (state_dir(tmp_path) / "lock").exists()  # the stale lock file is still there
        with OutputLock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_scores_of_a_vanished_file_are_ignored(tmp_path):
    image = make_image(tmp_path / "a.jpg")
    with Journal(tmp_path / "out") as journal:
        journal.save_scores("m", [(image, [0.5], None)])
        image.unlink()
        assert journal.cached_scores("m", [image]) == {}
        journal.save_scores("m", [(image, [0.5], None)])  # no crash
