"""The output lock: one Sorter run at a time writes into an output folder."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sorter.core.errors import LockedError
from sorter.core.locks import FileLock
from sorter.core.sorting.journal import make_folder, state_dir

LOCK_FILE = "lock"


class OutputLock(FileLock):
    """Keeps a second Sorter run out of the same OUT; a killed holder never blocks forever.

    An OS file lock (FileLock): the OS releases it when the process dies (kill -9 included), so
    a lock file left by a dead process is simply taken over; the pid written inside names a live
    holder. It never waits: a second run is told at once.
    """

    def __init__(self, out: str | os.PathLike[str]) -> None:
        super().__init__(state_dir(Path(out)) / LOCK_FILE, wait_s=0)

    def acquire(self) -> None:
        """Take the lock and write who holds it.

        Raises:
            LockedError: another run holds it (the message names that run's pid and host).
            BadPathError: OUT's state folder cannot be created.
        """
        make_folder(self.path.parent)
        if not self.try_acquire():
            holder = self.read_note() or "unknown"
            raise LockedError(
                f"Another Sorter run ({holder}) is writing into {self.path.parent.parent}; "
                "wait for it to finish, or choose another output folder."
            )
        self.write_note(f"pid {os.getpid()} on {socket.gethostname()}")
