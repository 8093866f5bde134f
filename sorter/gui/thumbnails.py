"""Thumbnails decoded off the GUI thread into an LRU of QImages keyed by path and size."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

THUMB_SIZE = 160
MAX_CACHED = 4000  # images; the byte budget below usually binds first
MAX_BYTES = 160 * 1024 * 1024  # about 1,600 thumbnails of 160 px; older ones are decoded again
MAX_WAITING = 300  # decodes queued at most: a fast scroll drops the oldest (views ask again)

Key = tuple[str, int]  # (path, size in pixels)


def load_thumbnail(path: Path, size: int) -> QImage:
    """Decode an image (EXIF turned, any mode to RGB) into a QImage at most `size` px."""
    # The core's decoder (same look as the model's); imported here, not when the window starts.
    from sorter.core.model.decode import open_image

    img = open_image(path, size_hint=size)
    img.thumbnail((size, size))
    img = img.convert("RGB")
    data = img.tobytes("raw", "RGB")
    image = QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888)
    # RGB32 is what the window paints with, so painting converts nothing on the GUI thread;
    # converting also makes a copy that owns its pixels once `data` goes away.
    return image.convertToFormat(QImage.Format.Format_RGB32)


def decoding_threads() -> int:
    """One core is left to the window: two decoders on two cores starve the GUI thread (and
    hold the GIL between their C calls), which showed as 100+ ms stalls while scrolling."""
    return min(2, max(1, QThread.idealThreadCount() - 1))


class _LoaderSignals(QObject):
    loaded = Signal(str, int, QImage)
    failed = Signal(str, int)


class _Requests:
    """The keys waiting for a decoder, newest last; shared with the decoding threads.

    The GUI thread only appends here (no Qt call, so it never waits for the GIL behind a
    decoder); a few long-lived drains take the newest key until none is left.
    """

    def __init__(self, threads: int) -> None:
        self.lock = threading.Lock()
        self.waiting: OrderedDict[Key, None] = OrderedDict()
        self.working: set[Key] = set()
        self.threads, self.drains = threads, 0

    def add(self, key: Key) -> bool:
        """Queue `key` (or make it the newest again); True when a new drain must start."""
        with self.lock:
            if key in self.working:
                return False
            self.waiting[key] = None
            self.waiting.move_to_end(key)
            while len(self.waiting) > MAX_WAITING:  # a fast scroll: what it passed is dropped
                self.waiting.popitem(last=False)
            if self.drains < self.threads:
                self.drains += 1
                return True
            return False

    def take(self, done: Key | None) -> Key | None:
        """The newest waiting key (after finishing `done`), or None: the drain then ends."""
        with self.lock:
            self.working.discard(done)
            if not self.waiting:
                self.drains -= 1
                return None
            key, _ = self.waiting.popitem(last=True)
            self.working.add(key)
            return key

    def clear(self) -> None:
        with self.lock:
            self.waiting.clear()


class _Drain(QRunnable):
    def __init__(self, requests: _Requests, signals: _LoaderSignals) -> None:
        super().__init__()
        self._requests, self._signals = requests, signals

    def run(self) -> None:
        key = self._requests.take(None)
        while key is not None:
            path, size = key
            try:
                image = load_thumbnail(Path(path), size)
            except Exception as exc:
                log.info("No thumbnail for %s: %s", path, exc)
                self._signals.failed.emit(path, size)
            else:
                self._signals.loaded.emit(path, size, image)
            key = self._requests.take(key)


class ThumbnailCache(QObject):
    """Thumbnails from a small thread pool, remembered; `loaded` says when one arrives.

    The newest request is decoded first, so what the view shows now comes before what it
    showed a moment ago; at most MAX_WAITING requests wait, the oldest are dropped (a view
    asks again when it paints that tile again).
    """

    loaded = Signal(str)  # the path that has a new thumbnail in the cache

    def __init__(
        self,
        parent: QObject | None = None,
        size: int = THUMB_SIZE,
        max_cached: int = MAX_CACHED,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        super().__init__(parent)
        self.size = size
        self.max_cached, self.max_bytes = max_cached, max_bytes
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(decoding_threads())
        self._requests = _Requests(self.pool.maxThreadCount())
        self._images: OrderedDict[Key, QImage] = OrderedDict()
        self._sizes: dict[str, set[int]] = {}  # path -> sizes cached, for a stand-in
        self._bytes = 0
        self._failed: set[str] = set()
        self._signals = _LoaderSignals(self)
        self._signals.loaded.connect(self._on_loader_loaded)
        self._signals.failed.connect(self._on_loader_failed)

    def get(self, path: str | Path, size: int | None = None) -> QImage | None:
        """The cached thumbnail of this size (default: the cache's), or None after queueing a
        decode (once per path and size; never for a file that failed to decode)."""
        key = (str(path), size or self.size)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)  # recently shown: evicted last
        elif key[0] not in self._failed:
            self._request(key)
        return image

    def stand_in(self, path: str | Path, size: int) -> QImage | None:
        """The cached thumbnail of the size nearest `size`, to show scaled until the right
        one arrives; queues nothing."""
        sizes = self._sizes.get(str(path))
        if not sizes:
            return None
        nearest = min(sizes, key=lambda s: (abs(s - size), -s))
        return self._images.get((str(path), nearest))

    def failed(self, path: str | Path) -> bool:
        """True when the file could not be decoded (it is not tried again)."""
        return str(path) in self._failed

    def clear(self) -> None:
        self._requests.clear()
        self._images.clear()
        self._sizes.clear()
        self._bytes = 0
        self._failed.clear()

    def _request(self, key: Key) -> None:
        if self._requests.add(key):
            self.pool.start(_Drain(self._requests, self._signals))

    def _on_loader_loaded(self, path: str, size: int, image: QImage) -> None:
        key = (path, size)
        if key in self._images:
            return
        self._images[key] = image
        self._sizes.setdefault(path, set()).add(size)
        self._bytes += image.sizeInBytes()
        self._evict()
        self.loaded.emit(path)

    def _evict(self) -> None:
        while len(self._images) > 1 and (
            len(self._images) > self.max_cached or self._bytes > self.max_bytes
        ):
            (path, size), image = self._images.popitem(last=False)
            self._bytes -= image.sizeInBytes()
            self._sizes[path].discard(size)
            if not self._sizes[path]:
                del self._sizes[path]

    def _on_loader_failed(self, path: str, size: int) -> None:
        self._failed.add(path)
