"""Peak memory of `sorter sort` on 1,000 and 10,000 small photos: flat when the predictor streams.

Run alone: .venv/bin/python bench/memory_flat.py [--quick]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import OUT_DIR, find_photos, machine, run_measured, small_copies, sorter_cmd, write_json

log = logging.getLogger(__name__)

SIZES = (1_000, 10_000)
QUICK_SIZES = (10, 30)
FLAT_TOLERANCE = 1.10  # the larger folder may peak at most 10% higher to count as flat


def peak_rss(photos: Sequence[Path], work: Path, count: int, env: dict[str, str] | None) -> dict:
    """Sort count small JPEGs made from photos; the process's own RSS high-water mark (wait4)."""
    src = work / f"small_{count}"
    small_copies(photos, src, count)
    out = work / f"small_{count}_sorted"
    if out.exists():
        shutil.rmtree(out)
    result = run_measured([*sorter_cmd(), "sort", str(src), "--out", str(out)], env=env)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)
    if result["returncode"] != 0:
        raise RuntimeError(f"sorter sort failed: {result['stderr'][-2000:]}")
    return {
        "images": count,
        "peak_rss_mib": round(result["peak_rss_mib"], 1),
        "wall_s": round(result["wall_s"], 2),
        "images_per_s": round(count / result["wall_s"], 2),
    }


def memory_flat(
    photos: Sequence[Path], work: Path, sizes: Sequence[int], env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Peak RSS per folder size; flat when the largest is within FLAT_TOLERANCE of the smallest."""
    runs = [peak_rss(photos, work, n, env) for n in sizes]
    growth = runs[-1]["peak_rss_mib"] / runs[0]["peak_rss_mib"]
    return {"runs": runs, "growth": round(growth, 3), "flat": growth <= FLAT_TOLERANCE}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SIZES} files instead")
    parser.add_argument("--sources", type=Path, nargs="*", help="folders of JPEGs to copy from")
    parser.add_argument("--work", type=Path, default=Path("/tmp/sorter_bench"))
    parser.add_argument("--json", type=Path, default=OUT_DIR / "memory_flat.json")
    args = parser.parse_args(argv)
    photos = find_photos(args.sources) if args.sources else find_photos()
    result = memory_flat(photos, args.work, QUICK_SIZES if args.quick else SIZES)
    for run in result["runs"]:
        print(f"{run['images']:>6} images: peak RSS {run['peak_rss_mib']:.0f} MiB")
    print(f"growth x{result['growth']:.2f} -> {'flat' if result['flat'] else 'NOT flat'}")
    write_json({"machine": machine(), "memory": result}, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
