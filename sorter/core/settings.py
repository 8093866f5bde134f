"""User settings kept as JSON in the config folder: current model, thresholds, recent folders."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from sorter import appdirs

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
MAX_RECENT = 10


@dataclass
class Settings:
    """Everything Sorter remembers between runs. Unknown keys in the file are ignored."""

    model_path: str | None = None  # None: the embedded default model
    device: str = "auto"  # auto | cpu | cuda
    default_threshold: float | None = None  # None: the model's own
    thresholds: dict[str, float] = field(default_factory=dict)  # per category, override
    recent_folders: list[str] = field(default_factory=list)
    skip_preview: bool = False

    def add_recent(self, folder: str | os.PathLike[str]) -> None:
        text = str(folder)
        self.recent_folders = [text] + [f for f in self.recent_folders if f != text]
        del self.recent_folders[MAX_RECENT:]


def settings_path() -> Path:
    return appdirs.config_dir() / SETTINGS_FILE


def load_settings() -> Settings:
    """Read the settings; a missing or damaged file gives the defaults (and a log line)."""
    path = settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("Ignoring unreadable settings file %s: %s", path, exc)
        return Settings()
    known = {f.name for f in fields(Settings)}
    try:
        return Settings(**{k: v for k, v in raw.items() if k in known})
    except TypeError as exc:
        log.warning("Ignoring malformed settings file %s: %s", path, exc)
        return Settings()


def save_settings(settings: Settings) -> None:
    """Write the settings atomically (temporary file, then rename)."""
    path = settings_path()
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    os.replace(tmp, path)
