"""Where a `sorter sort` spends its time: py-spy samples of every thread, grouped by stage.

Run alone: .venv/bin/python bench/profile_sort.py SRC_FOLDER
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import OUT_DIR, VENV_BIN, sorter_cmd, write_json

log = logging.getLogger(__name__)

RATE = 100  # samples per second per thread
# First match wins, so the more specific stages come first. Patterns match "func (file:line)".
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("import", ("_find_and_load", "<frozen importlib")),
    ("model load", ("load_model (",)),
    ("decode", ("imageio.py", "_decode (", "to_uint8_tensor", "resize_like_fastai", "PIL/")),
    ("forward", ("scores (", "torch/nn/")),
    ("copy", ("safecopy.py",)),
    ("journal/report", ("journal.py", "report.py", "sqlite3")),
    ("scan", ("scan.py",)),
)
# Leaf frames of a thread that is blocked, not computing.
WAITING = ("wait (", "acquire", "_worker (", "result (", "get (", "select (", "sleep")


def py_spy() -> str | None:
    exe = VENV_BIN / "py-spy"
    return str(exe) if exe.exists() else shutil.which("py-spy")


def _stage(stack: str) -> str:
    if ";" not in stack:  # a thread with no Python frame: interpreter start-up or shut-down
        return "no python frame"
    leaf = stack.rsplit(";", 1)[-1]
    if any(w in leaf for w in WAITING):
        return "waiting"
    for name, patterns in STAGES:
        if any(p in stack for p in patterns):
            return name
    return "other"


def _thread_id(stack: str) -> str:
    # py-spy names a thread "thread (ID)" or "thread (ID): NAME", so compare the ID only.
    found = re.match(r"thread \((\w+)\)", stack)
    return found.group(1) if found else stack.split(";", 1)[0]


def _main_thread(lines: list[tuple[str, int]]) -> str:
    # The thread that runs the CLI module is the main one; the others are decode workers.
    for stack, _ in lines:
        if "sorter/cli" in stack or "<module> (sorter" in stack:
            return _thread_id(stack)
    return _thread_id(lines[0][0]) if lines else ""


def summarize_raw(text: str) -> dict[str, Any]:
    """Collapsed py-spy stacks ('thread;frame;...;leaf count') -> share of samples per stage."""
    lines = []
    for row in text.splitlines():
        stack, _, count = row.rpartition(" ")
        if stack and count.isdigit():
            lines.append((stack, int(count)))
    main = _main_thread(lines)
    main_stages: Counter[str] = Counter()
    worker_stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for stack, count in lines:
        stage = _stage(stack)
        (main_stages if _thread_id(stack) == main else worker_stages)[stage] += count
        if stage != "waiting":
            leaves[stack.rsplit(";", 1)[-1]] += count
    main_total = sum(main_stages.values()) or 1
    return {
        "main_thread_seconds": {k: round(v / RATE, 2) for k, v in main_stages.most_common()},
        "main_thread_share": {k: round(v / main_total, 3) for k, v in main_stages.most_common()},
        "worker_thread_seconds": {k: round(v / RATE, 2) for k, v in worker_stages.most_common()},
        "top_leaf_functions_s": {k: round(v / RATE, 2) for k, v in leaves.most_common(12)},
    }


def profile_sort(src: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Sample a whole `sorter sort src` with py-spy (idle threads included) and summarize."""
    spy = py_spy()
    if spy is None:
        return {"error": "py-spy is not installed (.venv/bin/pip install py-spy)"}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "stacks.txt"
        cmd = [spy, "record", "--format", "raw", "--idle", "--threads", "--rate", str(RATE)]
        cmd += ["-o", str(raw), "--", *sorter_cmd(), "sort", str(src), "--out", f"{tmp}/out"]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0 or not raw.exists():
            return {"error": f"py-spy failed ({done.returncode}): {done.stderr[-1000:]}"}
        summary = summarize_raw(raw.read_text())
        summary["collapsed_stacks"] = str(OUT_DIR / "sort_profile_stacks.txt")
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(raw, summary["collapsed_stacks"])
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("--json", type=Path, default=OUT_DIR / "sort_profile.json")
    args = parser.parse_args(argv)
    summary = profile_sort(args.src)
    for key in ("main_thread_seconds", "worker_thread_seconds", "top_leaf_functions_s"):
        print(key, summary.get(key))
    write_json(summary, args.json)
    return 0 if "error" not in summary else 1


if __name__ == "__main__":
    sys.exit(main())
