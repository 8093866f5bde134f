"""Other ways to run `sorter sort`, timed beside it: another commit, or another environment."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import ROOT, sorter_cmd

# Runs the CLI of whatever `sorter` package PYTHONPATH finds first (an exported older commit).
_CLI = "import sys; from sorter.cli import main; sys.exit(main())"


def export_ref(ref: str, work: Path) -> tuple[str, Path]:
    """sorter/ and assets/ as of a git commit, exported under work (git archive, no checkout)."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    dest = work / f"ref_{sha}"
    if not (dest / "sorter").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", sha, "sorter", "assets"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return sha, dest


def sorter_variants(args: argparse.Namespace, env: dict[str, str]) -> list[dict[str, Any]]:
    """The variants to time: OMP passive waiting (unless skipped), an older commit when asked."""
    found = []
    if "passive" not in args.skip:
        found.append(
            {
                "name": "omp_passive",
                "what": "same command, env OMP_WAIT_POLICY=PASSIVE (idle OpenMP threads sleep)",
                "cmd": sorter_cmd(),
                "env": {**env, "OMP_WAIT_POLICY": "PASSIVE"},
            }
        )
    if args.compare_ref:
        sha, dest = export_ref(args.compare_ref, args.work)
        found.append(
            {
                "name": f"at_{sha}",
                "what": f"sorter sort as of commit {sha} (PYTHONPATH={dest})",
                "cmd": [sys.executable, "-P", "-c", _CLI],  # -P: the cwd must not shadow PYTHONPATH
                "env": {**env, "PYTHONPATH": str(dest)},
            }
        )
    return found
