"""Where Sorter keeps things: platformdirs folders and bundled assets, from source or frozen."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

APP_NAME = "Sorter"
APP_AUTHOR = "Sorter"


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def asset_root() -> Path:
    """The folder that holds `assets/`: the bundle in a frozen app, the repo from source."""
    if is_frozen():
        return Path(sys._MEIPASS)  # type: ignore[attr-defined]
    return Path(__file__).resolve().parent.parent


def asset_path(*parts: str) -> Path:
    """Path of a bundled file, e.g. asset_path("models", "default.pth")."""
    return asset_root().joinpath("assets", *parts)


def _dirs() -> platformdirs.PlatformDirs:
    # roaming=False keeps big model files out of roaming profiles on Windows.
    return platformdirs.PlatformDirs(APP_NAME, APP_AUTHOR, roaming=False)


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Settings (honours XDG_CONFIG_HOME on Linux)."""
    return _ensure(Path(_dirs().user_config_dir))


def data_dir() -> Path:
    """Models, model versions and the correction queue (honours XDG_DATA_HOME on Linux)."""
    return _ensure(Path(_dirs().user_data_dir))


def log_dir() -> Path:
    """Rotating log files (under XDG_STATE_HOME on Linux)."""
    return _ensure(Path(_dirs().user_log_dir))


def cache_dir() -> Path:
    """Thumbnails and other things that can be rebuilt (honours XDG_CACHE_HOME on Linux)."""
    return _ensure(Path(_dirs().user_cache_dir))


def pictures_dir() -> Path:
    """The user's Pictures folder (Windows' known folder, moved or in OneDrive; XDG's on Linux),
    where copies from a drive or card go by default. Not created here: the sort creates it."""
    return Path(platformdirs.user_pictures_dir())
