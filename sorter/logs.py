"""Logging set-up: a rotating file in the user log folder, plus stderr for the CLI."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from sorter import appdirs

LOG_FILE = "sorter.log"


def setup_logging(*, to_stderr: bool = False, level: int = logging.INFO) -> None:
    """Send Sorter's log records to the log file (and stderr when asked). Safe to call twice."""
    root = logging.getLogger("sorter")
    if getattr(root, "_sorter_configured", False):
        return
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        handler = logging.handlers.RotatingFileHandler(
            appdirs.log_dir() / LOG_FILE, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(fmt)
        root.addHandler(handler)
    except OSError:
        pass  # a read-only profile must not stop the app; stderr still works
    if to_stderr:
        console = logging.StreamHandler()
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        root.addHandler(console)
    root._sorter_configured = True  # type: ignore[attr-defined]


def log_file() -> Path | None:
    """The file Sorter's log goes to; None when none could be opened (a read-only profile)."""
    for handler in logging.getLogger("sorter").handlers:
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None
