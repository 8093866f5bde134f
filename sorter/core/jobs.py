"""How long jobs report progress and stop: Progress, CancelToken, Cancelled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class Cancelled(Exception):
    """Raised inside a job when its CancelToken was triggered."""


class CancelToken:
    """A flag a caller sets to ask a running job to stop at its next check."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


@dataclass(frozen=True)
class Progress:
    """One progress report: `done` of `total` units of a named stage."""

    stage: str
    done: int
    total: int | None
    unit: str = "images"
    rate: float | None = None  # units per second
    eta_s: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    """A progress callback that ignores every report."""


@dataclass
class RateMeter:
    """Turns (done, total) counts into Progress reports with a rate and an ETA."""

    stage: str
    total: int | None
    unit: str = "images"
    started: float = field(default_factory=time.perf_counter)

    def report(self, done: int, message: str = "") -> Progress:
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 and done else None
        eta = None
        if rate and self.total is not None:
            eta = max(0.0, (self.total - done) / rate)
        return Progress(self.stage, done, self.total, self.unit, rate, eta, message)
