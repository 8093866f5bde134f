"""The review stall benchmark runs end to end on a few images and reports its figure (no timing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_small_run_reports_the_longest_stall_per_phase(tmp_path):
    out = tmp_path / "stall.json"
    cmd = [sys.executable, str(ROOT / "bench" / "review_stall.py"), "--images", "30", "--bare"]
    cmd += ["--work", str(tmp_path / "work"), "--json", str(out)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Longest GUI-thread stall over 30 images" in result.stdout
    data = json.loads(out.read_text())
    assert data["images"] == 30 and data["ticks"] > 10
    assert {"scroll down, 160 px", "change the size, 96-320 px"} <= set(data["phases"])
    assert len(list((tmp_path / "work" / "review_stall_30").glob("*.jpg"))) == 30
