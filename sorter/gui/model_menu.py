"""File menu entries for the core's model import commands, offered only when they exist."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def import_actions(window: Any) -> list[tuple[str, Callable[[], None]]]:
    """(menu text, slot) pairs for import commands this version's core provides."""
    actions: list[tuple[str, Callable[[], None]]] = []
    if _has_module("sorter.core.import_learner"):
        actions.append(("Import a fastai export (.pkl)...", window.import_learner_file))
    return actions
