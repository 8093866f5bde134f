"""kill -9 a real `sorter sort` at random points, run it again: exactly the uninterrupted tree."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "core"))
from fakes import make_image, make_tiny_model, tree_hashes

from sorter.cli import main
from sorter.core.sorting.journal import JOURNAL_FILE, STATE_DIR
from sorter.core.sorting.safecopy import TEMP_PREFIX

pytestmark = pytest.mark.slow
SEED = 20261123


def make_source(root: Path, n: int = 48) -> Path:
    """Images with repeated names in several folders, some identical twins, one broken file."""
    rng = random.Random(SEED)
    for i in range(n):
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        make_image(root / f"album{i % 4}" / f"IMG_{i % 9:04d}.jpg", color, size=(40, 30))
    twin = root / "album0" / "IMG_0000.jpg"
    (root / "copies").mkdir()
    (root / "copies" / "IMG_0000.jpg").write_bytes(twin.read_bytes())
    (root / "copies" / "broken.jpg").write_bytes(twin.read_bytes()[:200])
    return root


def sort_command(src: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sorter", "sort", str(src), "--out", str(out),
            "--model", str(model), "--batch-size", "4", *extra]  # fmt: skip


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def placed_files(out: Path) -> int:
    count = 0
    for _folder, dirs, files in os.walk(out):
        dirs[:] = [d for d in dirs if d != STATE_DIR]
        count += sum(not f.startswith(TEMP_PREFIX) and f != "sorter-report.csv" for f in files)
    return count


def run_and_kill(cmd: list[str], cwd: Path, ready) -> bool:
    """Start the command, SIGKILL it once ready() is true; True if it was killed mid-run."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        while proc.poll() is None and not ready():
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    return proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("mode", ["copy", "move"])
def test_kill_9_at_random_points_then_resume(tmp_path, mode):
    model = make_tiny_model(tmp_path / "tiny.pth")
    extra = ["--move"] if mode == "move" else []
    ref_src = make_source(tmp_path / "ref-src")
    assert main(sort_command(ref_src, tmp_path / "ref", model, *extra)[3:]) == 0  # in-process
    reference = tree_hashes(tmp_path / "ref")
    total = placed_files(tmp_path / "ref")
    src = make_source(tmp_path / "src")
    sources_before = tree_hashes(src)
    out = tmp_path / "out"
    rng = random.Random(SEED + len(mode))
    journal = out / STATE_DIR / JOURNAL_FILE
    # copy: one kill while scoring, then two after k files are placed; move (slower to set up,
    # and crash points inside it are covered in-process too): one placed-file point
    delay = rng.uniform(0.0, 0.3)
    points = [lambda: journal.exists() and time.sleep(delay) is None] if mode == "copy" else []
    for k in sorted(rng.sample(range(1, total), 2 if mode == "copy" else 1)):
        points.append(lambda k=k: placed_files(out) >= k)
    killed = [run_and_kill(sort_command(src, out, model, *extra), tmp_path, p) for p in points]
    assert sum(killed) >= max(1, len(points) - 1), f"too few kills landed mid-run: {killed}"
    final = subprocess.run(sort_command(src, out, model, *extra), cwd=tmp_path, env=env(),
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert final.returncode == 0, final.stderr
    report = (out / "sorter-report.csv").read_text(encoding="utf-8-sig")
    reference_report = (tmp_path / "ref" / "sorter-report.csv").read_text(encoding="utf-8-sig")
    assert report == reference_report.replace(str(ref_src), str(src))
    reference.pop("sorter-report.csv")
    got = tree_hashes(out)
    got.pop("sorter-report.csv")
    assert not [name for name in got if TEMP_PREFIX in name]
    assert got == reference
    if mode == "copy":
        assert tree_hashes(src) == sources_before
    else:  # every readable image moved; undo must put all of them back
        assert set(tree_hashes(src)) == {"copies/broken.jpg"}
        undo = subprocess.run([sys.executable, "-m", "sorter", "undo", str(out)], cwd=tmp_path,
                              env=env(), capture_output=True, text=True, timeout=120)  # fmt: skip
        assert undo.returncode == 0, undo.stderr
        assert tree_hashes(src) == sources_before
