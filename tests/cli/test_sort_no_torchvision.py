"""A real `sorter sort` run imports no torchvision: its import costs seconds of start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fakes import make_tiny_model

RUN_SORT = """
import json, sys
from sorter.cli import main
code = main(["sort", sys.argv[1], "--out", sys.argv[2], "--model", sys.argv[3], "--device", "cpu"])
print(json.dumps({"code": code, "torchvision": "torchvision" in sys.modules}))
"""


def test_sort_runs_without_importing_torchvision(tmp_path):
    src = tmp_path / "Photos"
    src.mkdir()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(src / "red.png")
    Image.new("RGB", (20, 50), (30, 30, 200)).save(src / "blue.jpg")
    model = make_tiny_model(tmp_path / "tiny.pth", arch="mobilenet_v2")
    out = tmp_path / "Sorted"
    done = subprocess.run(
        [sys.executable, "-c", RUN_SORT, str(src), str(out), str(model)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "torchvision": False}
    copied = sorted(p.name for p in out.rglob("*") if p.suffix in {".png", ".jpg"})
    assert copied.count("red.png") >= 1 and copied.count("blue.jpg") >= 1
