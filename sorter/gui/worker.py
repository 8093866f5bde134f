"""The one way the window runs long jobs: a QRunnable with a QObject of signals on a pool."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from sorter.core.errors import SorterError
from sorter.core.jobs import Cancelled, CancelToken, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobError:
    """A failed job, told as one readable sentence plus the details behind it."""

    message: str
    details: str
    unexpected: bool = False  # a bug rather than a cause the user can fix: the log path helps

    @classmethod
    def from_exception(cls, exc: BaseException) -> JobError:
        details = "".join(traceback.format_exception(exc))
        if getattr(exc, "details", None):  # what the error lists (every unreadable file...)
            details = f"{exc.details}\n\n{details}"
        if isinstance(exc, SorterError):
            return cls(str(exc), details)
        if isinstance(exc, MemoryError):
            return cls("The computer ran out of memory during this job.", details)
        if isinstance(exc, OSError) and exc.strerror:
            where = f" ({exc.filename})" if exc.filename else ""
            return cls(f"A file could not be used: {exc.strerror}{where}.", details)
        return cls(
            "Something went wrong inside Sorter; the details can help fix it.", details, True
        )


class JobSignals(QObject):
    """What a job tells the window; delivered in the window's thread (queued connections)."""

    progressed = Signal(object)  # Progress
    finished = Signal(object)  # the job function's return value
    failed = Signal(object)  # JobError
    cancelled = Signal()


class Job(QRunnable):
    """Runs `fn(*args, progress=..., cancel=..., **kwargs)` off the GUI thread.

    The job never touches widgets: everything it produces leaves through `signals`.
    """

    def __init__(
        self, fn: Callable[..., Any], *args: Any, with_progress: bool = True, **kwargs: Any
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps the job (and its signals) alive
        self.signals = JobSignals()
        self.cancel_token = CancelToken()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._with_progress = with_progress

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def run(self) -> None:
        kwargs = dict(self._kwargs)
        if self._with_progress:
            kwargs.update(progress=self._report, cancel=self.cancel_token)
        try:
            result = self._fn(*self._args, **kwargs)
        except Cancelled:
            self.signals.cancelled.emit()
        except Exception as exc:
            log.exception("Job %s failed", getattr(self._fn, "__name__", self._fn))
            self.signals.failed.emit(JobError.from_exception(exc))
        else:
            if self.cancel_token.cancelled:
                self.signals.cancelled.emit()
            else:
                self.signals.finished.emit(result)

    def _report(self, progress: Progress) -> None:
        # Only reports: stopping is the core's job (it checks the token where stopping is safe).
        self.signals.progressed.emit(progress)


class JobRunner(QObject):
    """Keeps running jobs alive and starts them on a pool.

    The model jobs share one single-thread pool so the network is only ever used by one thread.
    """

    def __init__(self, parent: QObject | None = None, threads: int = 1) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._jobs: set[Job] = set()

    def start(self, job: Job) -> Job:
        self._jobs.add(job)
        for signal in (job.signals.finished, job.signals.failed):
            signal.connect(lambda *_: self._jobs.discard(job))
        job.signals.cancelled.connect(lambda: self._jobs.discard(job))
        self.pool.start(job)
        return job

    def cancel_all(self) -> None:
        for job in list(self._jobs):
            job.cancel()

    def wait(self, msecs: int = -1) -> bool:
        return self.pool.waitForDone(msecs)
