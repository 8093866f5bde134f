"""An inter-process file lock: one holder at a time, released by the OS when the holder dies."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Self

from sorter.core.errors import LockedError
from sorter.core.files import long_path

WAIT_S = 30.0  # settings and version writes hold the lock for milliseconds
_POLL_S = 0.005
_WIN_LOCK_OFFSET = 4096  # Windows locks a byte past the note, so others can still read it
_NOTE_BYTES = 200


class FileLock:
    """A lock file next to what it guards; usable as a context manager.

    The OS drops the lock when the holder's file is closed or the process dies (kill -9 too),
    so a lock file left behind never blocks anyone. Each FileLock opens its own descriptor, so
    two threads of one process exclude each other as two processes do.
    """

    def __init__(self, path: str | os.PathLike[str], wait_s: float = WAIT_S) -> None:
        self.path = Path(path)
        self.wait_s = wait_s
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free now; False when another holder has it."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this FileLock")
        # long_path: an output folder deep in a tree puts its lock past MAX_PATH on Windows
        os.makedirs(long_path(self.path.parent, folder=True), exist_ok=True)
        fd = os.open(long_path(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        if _try_lock(fd):
            self._fd = fd
            return True
        os.close(fd)
        return False

    def acquire(self) -> None:
        """Wait for the lock.

        Raises:
            LockedError: another holder kept it longer than `wait_s` seconds.
        """
        deadline = time.monotonic() + self.wait_s
        while not self.try_acquire():
            if time.monotonic() > deadline:
                raise LockedError(
                    f"Another Sorter process has held {self.path} for over {self.wait_s:.0f} s; "
                    "close other Sorter windows or commands and try again."
                )
            time.sleep(_POLL_S)

    def write_note(self, text: str) -> None:
        """Replace the lock file's text (who holds it, say); only while the lock is held."""
        if self._fd is None:
            raise RuntimeError(f"{self.path} is not held by this FileLock")
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, text.encode())

    def read_note(self) -> str:
        """The lock file's text as its holder wrote it ("" when none or unreadable)."""
        try:
            with open(long_path(self.path), "rb") as f:
                data = f.read(_NOTE_BYTES)
        except OSError:
            return ""
        return data.decode("utf-8", "replace").strip()

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _try_lock(fd: int) -> bool:
    if os.name == "nt":
        import msvcrt

        try:
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
