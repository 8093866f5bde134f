"""Test set-up shared by every test: headless Qt, isolated user folders, one torch thread."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Every test gets its own config, data, cache, log and Pictures folders (XDG_* on Linux)."""
    home = tmp_path_factory.mktemp("userdirs")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    monkeypatch.setenv("XDG_PICTURES_DIR", str(home / "Pictures"))  # copies from a drive go there
    return home


def pytest_configure(config):
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
