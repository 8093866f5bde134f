"""Thumbnails decoded off the GUI thread and cached, requested only when a view needs them."""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

THUMB_SIZE = 160
MAX_CACHED = 1500  # about 115 MB of 160 px thumbnails; older ones are decoded again if needed


def load_thumbnail(path: Path, size: int) -> QImage:
    """Decode an image (EXIF turned, any mode to RGB) into a QImage at most `size` px."""
    from sorter.core.model.predict import open_image  # the core's decoder: same look as the model's

    img = open_image(path, size_hint=size)
    img.thumbnail((size, size))
    img = img.convert("RGB")
    data = img.tobytes("raw", "RGB")
    # copy(): the QImage must own its pixels once `data` goes away.
    return QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888).copy()


class _LoaderSignals(QObject):
    loaded = Signal(str, QImage)
    failed = Signal(str)


class _LoadTask(QRunnable):
    def __init__(self, path: str, size: int, signals: _LoaderSignals) -> None:
        super().__init__()
        self._path, self._size, self._signals = path, size, signals

    def run(self) -> None:
        try:
            image = load_thumbnail(Path(self._path), self._size)
        except Exception as exc:
            log.info("No thumbnail for %s: %s", self._path, exc)
            self._signals.failed.emit(self._path)
        else:
            self._signals.loaded.emit(self._path, image)


class ThumbnailCache(QObject):
    """Thumbnails from a small thread pool, remembered; `loaded` says when one arrives."""

    loaded = Signal(str)  # the path whose thumbnail is now in the cache

    def __init__(
        self, parent: QObject | None = None, size: int = THUMB_SIZE, max_cached: int = MAX_CACHED
    ) -> None:
        super().__init__(parent)
        self.size = size
        self.max_cached = max_cached
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._images: OrderedDict[str, QImage] = OrderedDict()
        self._pending: set[str] = set()
        self._failed: set[str] = set()
        self._signals = _LoaderSignals(self)
        self._signals.loaded.connect(self._on_loader_loaded)
        self._signals.failed.connect(self._on_loader_failed)

    def get(self, path: str | Path) -> QImage | None:
        """The cached thumbnail, or None after queueing a load (once per path)."""
        key = str(path)
        image = self._images.get(key)
        if image is not None:
            self._images.move_to_end(key)  # recently shown: evicted last
        elif key not in self._pending and key not in self._failed:
            self._pending.add(key)
            self.pool.start(_LoadTask(key, self.size, self._signals))
        return image

    def clear(self) -> None:
        self.pool.clear()
        self._images.clear()
        self._pending.clear()
        self._failed.clear()

    def _on_loader_loaded(self, path: str, image: QImage) -> None:
        self._pending.discard(path)
        self._images[path] = image
        while len(self._images) > self.max_cached:
            self._images.popitem(last=False)
        self.loaded.emit(path)

    def _on_loader_failed(self, path: str) -> None:
        self._pending.discard(path)
        self._failed.add(path)
