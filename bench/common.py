"""Shared bench helpers: real photo sets, medians, machine facts, JSON output, peak memory."""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
VENV_BIN = ROOT / ".venv" / "bin"
# Real camera photos from Debian packages (mate-backgrounds, lomiri-wallpapers-16.04).
PHOTO_DIRS = (Path("/usr/share/backgrounds"),)
PHOTO_HINT = "apt-get install -y mate-backgrounds lomiri-wallpapers-16.04"
BIG_MP = 9.5  # the "12 MP" set: every photo of at least this many megapixels (9.8-17.9 here)
VGA = (640, 480)


def find_photos(dirs: Iterable[Path] = PHOTO_DIRS) -> list[Path]:
    """Every JPEG under the given folders, sorted, so every run uses the same order."""
    found = [
        p for d in dirs if d.is_dir() for p in d.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"}
    ]
    if not found:
        raise SystemExit(f"No camera JPEGs under {[str(d) for d in dirs]}; run: {PHOTO_HINT}")
    return sorted(found)


def megapixels(path: Path) -> float:
    with Image.open(path) as img:
        return img.size[0] * img.size[1] / 1e6


def _fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def repeat_copies(sources: Sequence[Path], dest: Path, count: int) -> list[Path]:
    """Copy sources round-robin into dest until it holds count files (real bytes, not links)."""
    _fresh_dir(dest)
    made = []
    for i in range(count):
        src = sources[i % len(sources)]
        target = dest / f"{i:05d}_{src.stem}.jpg"
        shutil.copyfile(src, target)
        made.append(target)
    return made


def vga_copies(sources: Sequence[Path], dest: Path) -> list[Path]:
    """A 640x480 JPEG (quality 90) of each source, stretched to 4:3 as a VGA camera frames it."""
    _fresh_dir(dest)
    made = []
    for src in sources:
        with Image.open(src) as img:
            img.draft("RGB", (VGA[0] * 2, VGA[1] * 2))
            small = img.convert("RGB").resize(VGA, Image.Resampling.LANCZOS)
        target = dest / f"{src.stem}.jpg"
        small.save(target, quality=90)
        made.append(target)
    return made


def small_copies(sources: Sequence[Path], dest: Path, count: int, side: int = 160) -> list[Path]:
    """count small JPEGs (side px wide) cycling over the sources: the flat-memory test folder."""
    _fresh_dir(dest)
    blobs = []
    for src in sources:
        with Image.open(src) as img:
            img.draft("RGB", (side * 2, side * 2))
            img = img.convert("RGB")
            img.thumbnail((side, side))
            target = dest / "_tmp.jpg"
            img.save(target, quality=85)
            blobs.append(target.read_bytes())
            target.unlink()
    made = []
    for i in range(count):
        target = dest / f"{i // 1000:02d}" / f"{i:05d}.jpg"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(blobs[i % len(blobs)])
        made.append(target)
    return made


def warm_cache(paths: Iterable[Path]) -> None:
    """Read every file once so all contenders start from the same (warm) page cache."""
    for p in paths:
        with p.open("rb") as f:
            while f.read(1 << 20):
                pass


def set_summary(paths: Sequence[Path]) -> dict[str, Any]:
    """Size facts of an image set, for the JSON and the table."""
    mps = [megapixels(p) for p in sorted(set(paths))]
    sizes = [p.stat().st_size for p in paths]
    return {
        "files": len(paths),
        "distinct": len(mps),
        "megapixels_min": round(min(mps), 2),
        "megapixels_max": round(max(mps), 2),
        "megapixels_mean": round(statistics.fmean(mps), 2),
        "megabytes_total": round(sum(sizes) / 1e6, 1),
    }


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Median, min, max and every run, rounded for people."""
    return {
        "median": round(median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "runs": [round(v, 4) for v in values],
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def busy_processes(limit: int = 6) -> list[str]:
    """The top CPU users right now (ps), so a reader can judge how quiet the machine was."""
    try:
        out = subprocess.run(
            ["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines()[1 : limit + 1]]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def gpu_facts() -> dict[str, Any] | None:
    """Name and current utilisation of the first CUDA GPU, or None when there is none."""
    import torch

    if not torch.cuda.is_available():
        return None
    facts: dict[str, Any] = {"name": torch.cuda.get_device_name(0)}
    try:
        facts["utilization_percent"] = torch.cuda.utilization(0)
    except Exception as exc:  # needs pynvml; nvidia-smi below is the fallback
        facts["utilization_error"] = str(exc)
        facts["nvidia_smi"] = nvidia_smi_line()
    return facts


def nvidia_smi_line() -> str | None:
    try:
        return subprocess.run(
            ["nvidia-smi", "--query-gpu=name,utilization.gpu,memory.used", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import torch

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu_facts(),
        "load_average_1_5_15": load_average(),
        "top_processes": busy_processes(),
        "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def write_json(data: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


# Linux carries the pre-exec memory high-water mark into a child's ru_maxrss, so a child forked
# from this (fastai-sized) process would report at least our RSS. A small Python launcher forks
# the real command instead and reports the grandchild's own rusage.
_LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"maxrss_kib": ru.ru_maxrss, "cpu_s": ru.ru_utime + ru.ru_stime}, f)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(cmd: Sequence[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command: wall seconds, exit code, output, its own peak RSS and CPU seconds."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage.json"
        launch = [sys.executable, "-c", _LAUNCHER, str(usage_file), *cmd]
        start = time.perf_counter()
        done = subprocess.run(launch, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        usage = json.loads(usage_file.read_text()) if usage_file.exists() else {}
    return {
        "cmd": list(cmd),
        "wall_s": wall,
        "returncode": done.returncode,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "peak_rss_mib": usage.get("maxrss_kib", 0) / 1024,  # Linux reports KiB
        "cpu_s": usage.get("cpu_s", 0.0),
    }


def sorter_cmd() -> list[str]:
    """The installed `sorter` command of this checkout's venv (the real CLI a user runs)."""
    exe = VENV_BIN / "sorter"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sorter"]
