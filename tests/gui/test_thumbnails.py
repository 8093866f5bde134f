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


def test_each_size_is_cached_on_its_own_and_a_stand_in_shows_meanwhile(qtbot, tmp_path):
    path = tmp_path / "wide.png"
    Image.new("RGB", (400, 200), (200, 30, 30)).save(path)
    cache = ThumbnailCache(size=64)
    assert cache.get(path, 96) is None
    qtbot.waitUntil(lambda: cache.get(path, 96) is not None, timeout=20_000)
    assert cache.get(path, 96).width() == 96
    assert cache.stand_in(path, 300).width() == 96  # the nearest size there is, no decode
    assert cache.get(path, 300) is None  # the right size is decoded too, on its own
    qtbot.waitUntil(lambda: cache.get(path, 300) is not None, timeout=20_000)
    assert cache.get(path, 300).width() == 300
    assert cache.stand_in(path, 280).width() == 300


def test_the_byte_budget_evicts_the_least_recently_shown(qtbot, tmp_path):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"p{i}.png")
        Image.new("RGB", (100, 100), (i * 80, 10, 10)).save(paths[-1])
    cache = ThumbnailCache(size=100, max_bytes=2 * 100 * 100 * 4)  # two RGB32 thumbnails
    for path in paths[:2]:
        cache.get(path)
        qtbot.waitUntil(lambda p=path: cache.get(p) is not None, timeout=20_000)
    cache.get(paths[0])  # shown again: now the most recent
    cache.get(paths[2])
    qtbot.waitUntil(lambda: cache.get(paths[2]) is not None, timeout=20_000)
    assert cache.stand_in(paths[0], 100) is not None
    assert cache.stand_in(paths[1], 100) is None
