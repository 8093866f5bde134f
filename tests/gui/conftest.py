"""GUI test helpers: a tiny real model, a folder of small real photos, a ready main window."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fakes import make_photos, make_tiny_model
from gui_helpers import open_main_window


@pytest.fixture(autouse=True)
def restore_sorter_logging():
    """The self-test sets up Sorter's logging (file + stderr); later tests get it back as it was."""
    logger = logging.getLogger("sorter")
    handlers, level = list(logger.handlers), logger.level
    configured = getattr(logger, "_sorter_configured", False)
    yield
    for handler in logger.handlers:
        if handler not in handlers:
            handler.close()
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger._sorter_configured = configured  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread(qapp):
    """As the app does (gc_guard): no collection on worker threads, where a Qt wrapper in the
    garbage can crash the process; automatic collection comes back after each test."""
    from sorter.gui import gc_guard

    collector = gc_guard.install(qapp)
    yield
    collector.stop()
    collector.setParent(None)
    collector.deleteLater()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pth")


@pytest.fixture
def photos(tmp_path) -> Path:
    return make_photos(tmp_path / "Holiday photos", 12)


@pytest.fixture
def window(qtbot, tiny_model):
    """The main window with the tiny model loaded."""
    win = open_main_window(qtbot, tiny_model)
    yield win
    win.close()
