"""`sorter self-test`: check that this Sorter works here (model, sample sort, window) and say so."""

from __future__ import annotations

import argparse

from sorter.cli.console import add_device_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "self-test",
        help="check that Sorter works on this machine",
        description=(
            "Load the default model, sort the bundled sample photos into a temporary folder, "
            "then open and close the main window in its own process. Prints one line per check; "
            "the exit code is 0 when every check passed, 1 otherwise."
        ),
    )
    add_device_option(parser, "auto")
    parser.add_argument(
        "--no-window", action="store_true", help="skip the window check (core checks only)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="how long the window check may take (default: %(default)s)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sorter import selftest

    window = None if args.no_window else selftest.subprocess_window_check()
    return selftest.run_self_test(window, timeout_s=args.timeout, device=args.device)
