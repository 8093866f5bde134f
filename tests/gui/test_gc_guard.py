"""Garbage is collected on the GUI thread's timer while the window runs, never automatically."""

from __future__ import annotations

import gc
import weakref

import pytest

from sorter.gui.gc_guard import MainThreadCollector, install


@pytest.fixture(autouse=True)
def collect_on_the_gui_thread():
    """These tests make their own collectors: no shared one (overrides conftest's)."""
    yield


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_automatic_collection_is_off_and_the_timer_collects(qapp, qtbot):
    gc.collect()
    collector = MainThreadCollector(qapp, interval_ms=10)
    try:
        assert not gc.isenabled()
        watched = Node()
        gone = weakref.ref(watched)
        del watched
        garbage = [Node() for _ in range(2 * gc.get_threshold()[0])]  # past generation 0's
        del garbage
        assert gone() is not None  # nothing collects it by itself now
        qtbot.waitUntil(lambda: gone() is None, timeout=5_000)
    finally:
        collector.stop()
        collector.setParent(None)
    assert gc.isenabled()


def test_collect_due_waits_for_the_threshold_and_install_reuses(qapp):
    gc.collect()
    collector = MainThreadCollector(qapp, interval_ms=60_000)
    try:
        assert collector.collect_due() == 0  # below every threshold: nothing to do
        for _ in range(gc.get_threshold()[0] + 10):
            Node()
        assert collector.collect_due() >= gc.get_threshold()[0]
        assert install(qapp) is collector
    finally:
        collector.stop()
        collector.setParent(None)
