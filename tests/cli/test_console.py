"""The CLI's progress line and duration format."""

from __future__ import annotations

import io

from sorter.cli.console import ProgressBar, format_duration
from sorter.core.jobs import Progress


def test_format_duration() -> None:
    assert format_duration(None) == "--:--"
    assert format_duration(65.4) == "01:05"
    assert format_duration(3725) == "1:02:05"


def test_progress_line_shows_count_rate_and_eta() -> None:
    line = ProgressBar(width=10).render(Progress("Scoring", 5, 10, rate=2.5, eta_s=2))
    assert line == "Scoring: [#####-----] 5/10 2.5 images/s ETA 00:02"


def test_non_tty_stream_gets_plain_lines_and_the_final_one() -> None:
    out = io.StringIO()
    bar = ProgressBar(stream=out)
    bar(Progress("Copying", 1, 2))
    bar(Progress("Copying", 2, 2))
    assert out.getvalue().splitlines()[-1].startswith("Copying: [")
    assert "2/2" in out.getvalue()


def test_a_closed_output_pipe_ends_the_command_quietly(tmp_path):
    """`sorter models list | head`: the reader leaves early; no traceback, no "unexpected error"."""
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-m", "sorter", "models", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    child.stdout.close()  # before the child prints anything: its first write meets a closed pipe
    err = child.stderr.read().decode("utf-8", "replace")
    child.wait(timeout=60)
    assert "Traceback" not in err
    assert "unexpected error" not in err
    assert child.returncode == 1
