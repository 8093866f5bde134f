"""Console helpers for the CLI: a progress bar on stderr and small formatting functions."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from sorter.core.jobs import Progress
from sorter.core.settings import DEVICES, Settings, load_settings

SETTINGS_DEVICE = "the one chosen in Settings; auto until then"


def add_device_option(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """--device auto|cpu|cuda; `default` None means the device chosen in the window's
    Settings (device_of reads it)."""
    what = SETTINGS_DEVICE if default is None else default
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default=default,
        help=f"auto: an NVIDIA GPU when one is usable, else the CPU (default: {what})",
    )


def device_of(args: argparse.Namespace, settings: Settings | None = None) -> str:
    """The --device given, else the one chosen in Settings (`settings`, when the caller has
    read them already)."""
    if args.device:
        return args.device
    return (settings or load_settings()).device


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class ProgressBar:
    """A Progress callback drawing one self-updating line on stderr (plain lines off a tty)."""

    def __init__(self, stream: TextIO | None = None, width: int = 28, min_interval: float = 0.1):
        self.stream = stream or sys.stderr
        self.width = width
        self.min_interval = min_interval
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._open = False

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        final = p.total is not None and p.done >= p.total
        if not final and now - self._last < (self.min_interval if self._tty else 2.0):
            return
        self._last = now
        line = self.render(p)
        if self._tty:
            self.stream.write("\r\x1b[2K" + line)
            self._open = True
            if final:
                self.close()
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def render(self, p: Progress) -> str:
        frac = p.fraction
        bar = ""
        if frac is not None:
            filled = int(frac * self.width)
            bar = "[" + "#" * filled + "-" * (self.width - filled) + "] "
        total = f"/{p.total}" if p.total is not None else ""
        rate = f" {p.rate:.1f} {p.unit}/s" if p.rate else ""
        eta = f" ETA {format_duration(p.eta_s)}" if p.total is not None else ""
        msg = f" {p.message}" if p.message else ""
        return f"{p.stage}: {bar}{p.done}{total}{rate}{eta}{msg}"

    def close(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; no terminal (a script, a pipe) means no."""
    if not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
