"""Open any image file as a correct RGB picture, quickly and safely; never writes a file."""

from __future__ import annotations

import logging
import os
import re
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from sorter.core.errors import ImageError

log = logging.getLogger(__name__)

_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_heif_lock = threading.Lock()
_heif_ready = False
_heif_problem: str | None = None


def _register_heif() -> None:
    global _heif_ready, _heif_problem
    with _heif_lock:
        if _heif_ready:
            return
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except Exception as exc:  # ImportError, or its library failing to load in a frozen build
            # Sorting goes on (HEIC photos are then reported as unreadable); the self-test fails.
            _heif_problem = f"pillow-heif cannot be used ({type(exc).__name__}: {exc})"
            log.warning("HEIC/HEIF photos cannot be read: %s", _heif_problem)
        _heif_ready = True


def heif_problem() -> str | None:
    """Why HEIC/HEIF photos (iPhones) cannot be read here; None when pillow-heif is registered."""
    _register_heif()
    return _heif_problem


def pixel_limit() -> int | None:
    """The largest decoded image (pixels) Sorter accepts: Pillow's decompression-bomb limit."""
    return Image.MAX_IMAGE_PIXELS


def _too_large(pixels: int, limit: int) -> ImageError:
    return ImageError(
        f"too large: {pixels / 1e6:.1f} megapixels, limit {limit / 1e6:.1f} "
        "(possibly a decompression bomb)"
    )


def _is_jpeg(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(3) == b"\xff\xd8\xff"


# warnings.catch_warnings swaps the process-wide filter list, so two decode threads inside it at
# once can restore each other's list and let Pillow's warning through to stderr. Image.open only
# reads the header, so taking turns costs little: here 0.05 ms for a VGA JPEG and 1.7 ms for a
# camera photo, against 1.1 and 78 ms to decode them (16 threads on VGA stay far from the lock's
# 20,000 opens a second).
_OPEN_LOCK = threading.Lock()


def _open(path: Path) -> Image.Image:
    """Image.open, except that huge JPEGs are let through so draft() can shrink them first."""
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            # Our own size check follows and says "too large"; Pillow's warning would repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except Image.DecompressionBombError as exc:
        if _is_jpeg(path):
            # The JPEG reader itself makes no size check; ours follows after draft().
            return JpegImagePlugin.JpegImageFile(path)
        found = re.search(r"\((\d+) pixels\)", str(exc))
        limit = pixel_limit() or 0
        if found:
            raise _too_large(int(found.group(1)), limit) from exc
        raise ImageError(f"too large: over {limit / 1e6:.1f} megapixels") from exc


def _decode(path: Path, size_hint: int) -> Image.Image:
    img = _open(path)
    if img.format in ("JPEG", "MPO") and size_hint > 0:
        # Scaled DCT decoding: up to 8x smaller, never below size_hint on either side.
        img.draft("RGB", (size_hint, size_hint))
    limit = pixel_limit()
    pixels = img.size[0] * img.size[1]
    if limit is not None and pixels > limit:
        raise _too_large(pixels, limit)
    img.load()
    return img


def _upright_rgb(img: Image.Image) -> Image.Image:
    try:
        ImageOps.exif_transpose(img, in_place=True)
    except Exception:  # a damaged EXIF block should not cost the picture itself
        log.debug("Ignoring unreadable EXIF orientation", exc_info=True)
    try:
        result = to_rgb(img)
    except ValueError as exc:  # a mode Pillow cannot turn into RGB
        raise ImageError(f"unsupported colour mode {img.mode}") from exc
    if result is img and getattr(img, "n_frames", 1) > 1:
        result = img.copy()  # detached from the file, so its handle can close
    return result


def open_image(path: str | os.PathLike[str], size_hint: int = 224) -> Image.Image:
    """An RGB image, EXIF orientation applied, transparency on white, first frame only.

    JPEGs are decoded at reduced scale when they stay at least size_hint pixels on each side.

    Raises:
        ImageError: missing, empty, truncated, not an image, or too large (the message says which).
    """
    path = Path(path)
    _register_heif()
    try:
        if path.is_dir():
            raise ImageError("a folder, not an image")
        if path.stat().st_size == 0:
            raise ImageError("empty file (0 bytes)")
        img = _decode(path, size_hint)
        try:
            result = _upright_rgb(img)
        except BaseException:
            img.close()
            raise
        if result is not img:
            img.close()  # multi-frame files keep their handle open otherwise
        return result
    except ImageError:
        raise
    except FileNotFoundError as exc:
        raise ImageError("file not found") from exc
    except PermissionError as exc:
        raise ImageError("permission denied (the file cannot be read)") from exc
    except Image.DecompressionBombError as exc:  # raised by some formats while loading frames
        raise ImageError(f"too large ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not an image Sorter can read (unknown or damaged format)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"damaged or truncated image ({exc})") from exc
    except MemoryError as exc:
        raise ImageError("too large to decode in the available memory") from exc


def _on_white(img: Image.Image) -> Image.Image:
    rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _deep_to_rgb(img: Image.Image) -> Image.Image:
    # 16-bit, 32-bit and float greyscale: scale the value range into 0-255 instead of clipping.
    values = np.asarray(img, dtype=np.float64)
    if img.mode.startswith("I;16"):
        scaled = values / 257.0
    elif img.mode == "F" and values.size and float(np.nanmax(values)) <= 1.0:
        scaled = values * 255.0
    elif img.mode == "I" and values.size and float(values.max()) > 255:
        scaled = values / (257.0 if values.max() <= 65535 else values.max() / 255.0)
    else:
        scaled = values
    grey = np.clip(np.nan_to_num(np.rint(scaled)), 0, 255).astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; transparent parts (alpha or a transparent colour) become white."""
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        return _on_white(img)
    if img.mode.startswith("I") or img.mode == "F":
        return _deep_to_rgb(img)
    if img.mode != "RGB":
        return img.convert("RGB")
    return img
