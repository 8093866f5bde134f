"""The inter-process file lock: one holder at a time, freed when the holder is killed."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from sorter.core.errors import LockedError
from sorter.core.locks import FileLock

_HOLDER = """
import sys, time
from sorter.core.locks import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_second_holder_waits_and_a_killed_holder_frees_the_lock(tmp_path) -> None:
    path = tmp_path / "state" / "x.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not FileLock(path).try_acquire()
        with pytest.raises(LockedError, match=r"x\.lock"):
            FileLock(path, wait_s=0.2).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with FileLock(path, wait_s=5):
        assert not FileLock(path).try_acquire()  # also excludes a second lock in one process
    again = FileLock(path)
    assert again.try_acquire()
    again.release()
