"""User folders honour XDG_* (so tests and scripts isolate them); assets resolve from source."""

from __future__ import annotations

import sys

from sorter import appdirs


def test_user_folders_live_under_the_isolated_home(isolated_user_dirs) -> None:
    for folder in (appdirs.config_dir(), appdirs.data_dir(), appdirs.cache_dir()):
        assert folder.is_dir()
        assert isolated_user_dirs in folder.parents


def test_asset_path_finds_the_bundled_default_model() -> None:
    assert appdirs.asset_path("models", "default.json").is_file()


def test_frozen_bundle_root_is_used_when_frozen(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert appdirs.asset_path("x.txt") == tmp_path / "assets" / "x.txt"
