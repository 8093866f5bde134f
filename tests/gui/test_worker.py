"""The job pattern: results, failures as one sentence, and cancellation, all by signal."""

from __future__ import annotations

import pytest

from sorter.core.errors import OutOfSpaceError
from sorter.core.jobs import Progress
from sorter.gui.worker import Job, JobError, JobRunner


def _fail(exc):
    try:
        raise exc
    except Exception as caught:
        return JobError.from_exception(caught)


@pytest.mark.parametrize(
    ("exc", "sentence"),
    [
        (OutOfSpaceError("The disk is full."), "The disk is full."),
        (
            PermissionError(13, "Permission denied", "C:/x.jpg"),
            "A file could not be used: Permission denied (C:/x.jpg).",
        ),
        (KeyError("arch"), "Something went wrong inside Sorter; the details can help fix it."),
    ],
)
def test_errors_become_one_sentence_with_details(exc, sentence):
    error = _fail(exc)
    assert error.message == sentence
    assert error.details.startswith("Traceback")


def test_job_reports_progress_and_result(qtbot):
    def work(n, *, progress, cancel):
        for i in range(n):
            progress(Progress("Counting", i + 1, n))
        return n * 2

    runner = JobRunner()
    job = Job(work, 3)
    seen = []
    job.signals.progressed.connect(seen.append)
    with qtbot.waitSignal(job.signals.finished, timeout=10_000) as done:
        runner.start(job)
    assert done.args == [6]
    qtbot.waitUntil(lambda: len(seen) == 3)
    assert [p.done for p in seen] == [1, 2, 3]


def test_cancelled_job_says_so(qtbot):
    def work(*, progress, cancel):
        while True:
            cancel.raise_if_cancelled()

    runner = JobRunner()
    job = Job(work)
    with qtbot.waitSignal(job.signals.cancelled, timeout=10_000):
        runner.start(job)
        job.cancel()
    assert runner.wait(5_000)


def test_failed_job_signals_failure(qtbot):
    def work(*, progress, cancel):
        raise OutOfSpaceError("The disk is full.")

    runner = JobRunner()
    job = Job(work)
    with qtbot.waitSignal(job.signals.failed, timeout=10_000) as failed:
        runner.start(job)
    assert failed.args[0].message == "The disk is full."
