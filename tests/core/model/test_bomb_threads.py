"""Decoding threads never let Pillow's decompression-bomb warning through (catch_warnings races)."""

from __future__ import annotations

import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from sorter.core.errors import ImageError
from sorter.core.model.decode import open_image


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims width x height: Image.open reads only the header."""
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    path.write_bytes(bytes(data))
    return path


def test_threads_opening_huge_images_leak_no_bomb_warning(tmp_path):
    limit = Image.MAX_IMAGE_PIXELS
    huge = _png_claiming(tmp_path / "huge.png", 10_000, limit // 10_000 + 1_000)  # 1x-2x limit

    def one(_):
        with pytest.raises(ImageError, match="too large"):
            open_image(huge, size_hint=224)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, range(400)))
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]
