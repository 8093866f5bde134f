"""Thumbnails: decoded off the GUI thread, bounded in size and in number."""

from __future__ import annotations

from PIL import Image

from sorter.gui.thumbnails import ThumbnailCache


def test_thumbnails_arrive_by_signal_and_old_ones_are_dropped(qtbot, tmp_path):
    paths = []
    for i in range(3):
        path = tmp_path / f"p{i}.png"
        Image.new("RGB", (300, 200), (i * 80, 10, 10)).save(path)
        paths.append(path)
    cache = ThumbnailCache(size=64, max_cached=2)
    for path in paths:
        assert cache.get(path) is None  # never decoded on the calling thread
        with qtbot.waitSignal(cache.loaded, timeout=20_000):
            pass
    image = cache.get(paths[2])
    assert (image.width(), image.height()) == (64, 43)
    assert cache.get(paths[1]) is not None
    assert cache.get(paths[0]) is None  # evicted; asking again queues a new decode
    qtbot.waitUntil(lambda: cache.get(paths[0]) is not None, timeout=20_000)


def test_unreadable_file_is_not_retried(qtbot, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    cache = ThumbnailCache(size=64)
    cache.get(bad)
    cache.pool.waitForDone(20_000)
    qtbot.wait(50)
    assert cache.get(bad) is None
    assert cache.pool.activeThreadCount() == 0
