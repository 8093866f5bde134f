"""User settings kept as JSON in the config folder: current model, thresholds, recent folders."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sorter import appdirs
from sorter.core.files import write_atomic
from sorter.core.locks import FileLock

log = logging.getLogger(__name__)

SETTINGS_FILE = "settings.json"
LOCK_FILE = "settings.json.lock"
MAX_RECENT = 10
DEVICES = ("auto", "cpu", "cuda")
# How the window places images that a later window may start with; "move" takes sources away,
# so it is never carried into a later sort (nor into "Copy straight away").
REMEMBERED_MODES = ("copy", "link")
THUMBNAIL_SIZES = (96, 320)  # the review grid's size slider: smallest and largest, in pixels
DEFAULT_THUMBNAIL_SIZE = 160


@dataclass
class Settings:
    """Everything Sorter remembers between runs. Unknown keys in the file are ignored."""

    model_path: str | None = None  # None: the embedded default model
    device: str = "auto"  # auto | cpu | cuda
    default_threshold: float | None = None  # None: the model's own
    thresholds: dict[str, float] = field(default_factory=dict)  # per category, override
    # The model the two values above were set for (session.model_key); another model starts
    # from its own thresholds. None: saved by a version that did not record it.
    thresholds_model: str | None = None
    recent_folders: list[str] = field(default_factory=list)
    skip_preview: bool = False
    thumbnail_size: int = DEFAULT_THUMBNAIL_SIZE  # the review grid's pictures, in pixels
    sort_mode: str = "copy"  # copy | link; a move is chosen each time, never remembered
    # The values as read from the file: save_settings() writes only what changed since, so a
    # window's save never undoes a `sorter models use` or a promotion made meanwhile.
    _read_as: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def add_recent(self, folder: str | os.PathLike[str]) -> None:
        text = str(folder)
        self.recent_folders = [text] + [f for f in self.recent_folders if f != text]
        del self.recent_folders[MAX_RECENT:]

    def to_dict(self) -> dict[str, Any]:
        """The fields as written to the file."""
        return {f.name: _copy(getattr(self, f.name)) for f in fields(self) if f.init}


def _copy(value: Any) -> Any:
    return type(value)(value) if isinstance(value, dict | list) else value


def settings_path() -> Path:
    return appdirs.config_dir() / SETTINGS_FILE


def _lock() -> FileLock:
    return FileLock(appdirs.config_dir() / LOCK_FILE)


# ---- reading: every field checked on its own --------------------------------------------------


def _unit(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{value!r} is not between 0 and 1")
    return float(value)


def _model_path(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    raise ValueError(f"{value!r} is not a file path")


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    """A check that lets only `choices` through."""

    def check(value: Any) -> str:
        if value in choices:
            return value
        raise ValueError(f"{value!r} is not one of {', '.join(choices)}")

    return check


def _default_threshold(value: Any) -> float | None:
    return None if value is None else _unit(value)


def _thresholds(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError(f"{value!r} is not a table of category thresholds")
    good = {}
    for name, threshold in value.items():
        try:
            good[name] = _unit(threshold)
        except ValueError as exc:
            log.warning("Settings: ignoring the threshold of %r (%s)", name, exc)
    return good


def _recent_folders(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError(f"{value!r} is not a list of folders")
    good = [f for f in value if isinstance(f, str) and f]
    if len(good) < len(value):
        log.warning("Settings: ignoring %d recent folder(s): not paths", len(value) - len(good))
    return good[:MAX_RECENT]


def _skip_preview(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{value!r} is not true or false")


def _thumbnail_size(value: Any) -> int:
    low, high = THUMBNAIL_SIZES
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not a whole number of pixels")
    if not low <= value <= high:
        raise ValueError(f"{value!r} is not between {low} and {high}")
    return value


def _thresholds_model(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    raise ValueError(f"{value!r} is not a model's key")


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "model_path": _model_path,
    "device": _one_of(DEVICES),
    "default_threshold": _default_threshold,
    "thresholds": _thresholds,
    "recent_folders": _recent_folders,
    "skip_preview": _skip_preview,
    "thumbnail_size": _thumbnail_size,
    "sort_mode": _one_of(REMEMBERED_MODES),
    "thresholds_model": _thresholds_model,
}


def _from_raw(raw: Any, path: Path) -> Settings:
    """Settings from parsed JSON: a bad field gets its default (and a warning), the rest stay."""
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        log.warning("Ignoring settings file %s: it holds a %s, not settings", path, kind)
        return Settings()
    values = {}
    for name, check in _CHECKS.items():
        if name not in raw:
            continue
        try:
            values[name] = check(raw[name])
        except ValueError as exc:
            log.warning("Settings file %s: %s is ignored (%s); using the default", path, name, exc)
    return Settings(**values)


def _read() -> Settings:
    path = settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("Ignoring unreadable settings file %s: %s", path, exc)
        return Settings()
    return _from_raw(raw, path)


def load_settings() -> Settings:
    """Read the settings; a missing, damaged or odd file (or field) gives the defaults for it.

    Never raises for the file's content: a bad settings file must not stop any command.
    """
    settings = _read()
    settings._read_as = settings.to_dict()
    return settings


# ---- writing: atomic, one writer at a time ----------------------------------------------------


def _write(data: dict[str, Any]) -> None:
    write_atomic(settings_path(), json.dumps(data, indent=2).encode("utf-8"))


def save_settings(settings: Settings) -> None:
    """Write the settings atomically, under the settings lock.

    Settings that came from load_settings() write only the fields changed since they were read,
    onto what the file holds now, so two programs saving at once never lose each other's change.
    """
    mine = settings.to_dict()
    with _lock():
        if settings._read_as is None:
            data = mine
        else:
            data = _read().to_dict()
            data.update({k: v for k, v in mine.items() if v != settings._read_as.get(k)})
        _write(data)
    settings._read_as = mine


def update_settings(change: Callable[[Settings], None]) -> Settings:
    """Read, change and write the settings as one step that no other writer can interleave.

    Returns the settings as written.
    """
    with _lock():
        settings = _read()
        change(settings)
        data = settings.to_dict()
        _write(data)
    settings._read_as = data
    return settings
