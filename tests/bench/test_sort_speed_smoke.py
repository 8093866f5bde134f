"""The speed benchmark runs end to end in --quick mode and reports every contender (no timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CONTENDERS = ("predict_loop", "get_preds", "sorter_sort", "bound")


def _tiny_photos(folder: Path, n: int = 5) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        pixels = rng.integers(0, 256, size=(48 + 8 * i, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"photo_{i}.jpg", quality=80)
    return folder


@pytest.mark.slow
def test_quick_run_writes_every_contender(tmp_path):
    sources = _tiny_photos(tmp_path / "photos")
    out = tmp_path / "speed.json"
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "sort_speed.py"),
        "--quick",
        "--sources",
        str(sources),
        "--work",
        str(tmp_path / "work"),
        "--json",
        str(out),
        "--skip",
        "startup",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    data = json.loads(out.read_text())
    assert set(data["sets"]) == {"12mp", "camera", "vga"}
    for name, result in data["sets"].items():
        for contender in CONTENDERS:
            assert result[contender]["images_per_s"]["median"] > 0, (name, contender)
        assert result["set"]["files"] == 4
        assert set(result["ratios"]["wall"]) >= {"vs_predict_loop", "vs_get_preds", "vs_bound"}
        paired = result["ratios"]["paired_vs_bound"]["wall"]
        assert len(paired["runs"]) == 1 and paired["median"] > 0
        # Same network object in both pipelines: fastai and Sorter agree on the top class.
        assert result["same_weights_check"]["top1_agreement"] > 0.5
    assert [r["images"] for r in data["memory"]["runs"]] == [10, 30]
    assert "main_thread_seconds" in data["profile"] or "error" in data["profile"]
    assert "sorter / bound" in done.stdout
