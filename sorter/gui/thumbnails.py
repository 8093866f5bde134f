"""Thumbnails decoded off the GUI thread into an LRU of QImages keyed by path and size."""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
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


class _LoadTask(QRunnable):
    def __init__(
        self, key: Key, signals: _LoaderSignals, wanted: Callable[[str, int], bool]
    ) -> None:
        super().__init__()
        self._key, self._signals, self._wanted = key, signals, wanted

    def run(self) -> None:
        path, size = self._key
        if not self._wanted(path, size):  # dropped while it waited: the view scrolled past
            return
        try:
            image = load_thumbnail(Path(path), size)
        except Exception as exc:
            log.info("No thumbnail for %s: %s", path, exc)
            self._signals.failed.emit(path, size)
        else:
            self._signals.loaded.emit(path, size, image)


class ThumbnailCache(QObject):
    """Thumbnails from a small thread pool, remembered; `loaded` says when one arrives.

    The newest request is decoded first, so what the view shows now comes before what it
    showed a moment ago; at most MAX_WAITING requests wait, the oldest are dropped.
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
        self._images: OrderedDict[Key, QImage] = OrderedDict()
        self._sizes: dict[str, set[int]] = {}  # path -> sizes cached, for a stand-in
        self._bytes = 0
        self._waiting: OrderedDict[Key, None] = OrderedDict()
        self._lock = threading.Lock()  # _waiting is read by the decoding threads
        self._failed: set[str] = set()
        self._order = itertools.count()
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
        self.pool.clear()
        with self._lock:
            self._waiting.clear()
        self._images.clear()
        self._sizes.clear()
        self._bytes = 0
        self._failed.clear()

    def _request(self, key: Key) -> None:
        with self._lock:
            if key in self._waiting:
                self._waiting.move_to_end(key)
                return  # already queued; a re-queue would only decode it twice
            self._waiting[key] = None
            while len(self._waiting) > MAX_WAITING:
                self._waiting.popitem(last=False)
        self.pool.start(_LoadTask(key, self._signals, self._wanted), next(self._order))

    def _wanted(self, path: str, size: int) -> bool:
        with self._lock:
            return (path, size) in self._waiting

    def _on_loader_loaded(self, path: str, size: int, image: QImage) -> None:
        with self._lock:
            self._waiting.pop((path, size), None)
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
        with self._lock:
            self._waiting.pop((path, size), None)
        self._failed.add(path)
