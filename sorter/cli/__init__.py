"""Command-line interface: `sorter COMMAND ...`, a thin layer over sorter.core."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence

from sorter import __version__
from sorter.core.errors import SorterError
from sorter.core.jobs import Cancelled
from sorter.logs import setup_logging

log = logging.getLogger(__name__)

# Each module defines register(subparsers); its parsers set `func` (args -> exit code).
# Modules keep heavy imports (torch, fastai) inside their functions so `--help` stays quick.
COMMAND_MODULES = (
    "sorter.cli.sort_cmd",
    "sorter.cli.model_cmd",
    "sorter.cli.train_cmd",
    "sorter.cli.queue_cmd",
    "sorter.cli.versions_cmd",
    "sorter.cli.selftest_cmd",
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sorter",
        description="Copy images into category folders with a trained image classifier.",
    )
    parser.add_argument("--version", action="version", version=f"sorter {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a command still being written
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code: 0 done, 1 failed, 2 bad input, 130 cancelled."""
    setup_logging(to_stderr=True)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader went away (`sorter info | head`): stop quietly
        _silence_stdout()
        return EXIT_FAILURE
    except (KeyboardInterrupt, Cancelled):
        print("\nStopped. Everything copied so far is complete.", file=sys.stderr)
        return EXIT_CANCELLED
    except SorterError as exc:
        log.info("Command failed: %s", exc)
        print(f"sorter: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.DatabaseError as exc:  # damage met past the checks at open; the log says where
        log.exception("Database failure")
        print(f"sorter: a journal or queue file is damaged ({exc}); the log file names it. "
              "Move that file away and run again.", file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    except Exception as exc:  # the last line of defence: one readable line, details in the log
        log.exception("Unexpected failure")
        print(f"sorter: unexpected error: {exc} (details in the log file)", file=sys.stderr)
        return EXIT_FAILURE


def _silence_stdout() -> None:
    """Point stdout at the null device so the exit's final flush cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
