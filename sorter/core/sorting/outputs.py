"""The output folders Sorter has sorted into, remembered in the data folder for retraining."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from sorter import appdirs
from sorter.core.files import write_atomic

log = logging.getLogger(__name__)

OUTPUTS_FILE = "outputs.json"
MAX_OUTPUTS = 50  # the most recent; older outputs rarely still hold what the user kept


def outputs_path() -> Path:
    return appdirs.data_dir() / OUTPUTS_FILE


def known_outputs() -> list[Path]:
    """Output folders of earlier sorts, most recent first (whether or not they still exist)."""
    try:
        raw = json.loads(outputs_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:  # the data folder itself may be out of reach
        log.warning("Ignoring the list of sorted outputs: %s", exc)
        return []
    return [Path(p) for p in raw if isinstance(p, str)] if isinstance(raw, list) else []


def remember_output(out: str | os.PathLike[str]) -> None:
    """Put OUT first in the list. Best effort: a sort never fails for want of this list (two
    sorts finishing at once may each keep only their own entry; the next sort adds it back)."""
    text = os.path.abspath(out)
    paths = [text] + [str(p) for p in known_outputs() if str(p) != text]
    try:  # outputs_path() creates the data folder, which a sort run by another user may not
        write_atomic(outputs_path(), json.dumps(paths[:MAX_OUTPUTS], indent=1).encode("utf-8"))
    except OSError as exc:
        log.warning("Could not remember the output %s: %s", text, exc)
