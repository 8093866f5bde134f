"""Draw Sorter's app icon with QPainter and save PNGs plus a Windows .ico (via Pillow).

Run: .venv/bin/python tools/make_icon.py   (writes assets/icons/)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QPainter

OUT = Path(__file__).resolve().parent.parent / "assets" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256)
FOLDERS = [QColor("#f2b134"), QColor("#4caf7d"), QColor("#4a90d9")]


def draw(size: int) -> QImage:
    """A photo (with a sun and a hill) above three coloured folders: photos sorted into folders."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 256
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#2d3e50"))
    p.drawRoundedRect(QRectF(8 * s, 8 * s, 240 * s, 240 * s), 44 * s, 44 * s)
    _photo(p, s)
    for i, colour in enumerate(FOLDERS):
        _folder(p, s, 30 + i * 68, colour)
    p.end()
    return image


def _photo(p: QPainter, s: float) -> None:
    p.setBrush(QColor("#ffffff"))
    p.drawRoundedRect(QRectF(64 * s, 30 * s, 128 * s, 96 * s), 10 * s, 10 * s)
    p.setBrush(QColor("#bfe3ff"))
    p.drawRect(QRectF(74 * s, 40 * s, 108 * s, 76 * s))
    p.setBrush(QColor("#ffcc33"))
    p.drawEllipse(QPointF(152 * s, 62 * s), 12 * s, 12 * s)
    p.setBrush(QColor("#3f9d5a"))
    p.drawPolygon([QPointF(74 * s, 116 * s), QPointF(112 * s, 70 * s), QPointF(150 * s, 116 * s)])
    p.setBrush(QColor("#ffffff"))  # an arrow: from the photo down into the folders
    p.drawPolygon([QPointF(112 * s, 136 * s), QPointF(144 * s, 136 * s), QPointF(128 * s, 156 * s)])


def _folder(p: QPainter, s: float, x: float, colour: QColor) -> None:
    p.setBrush(QBrush(colour.darker(120)))
    p.drawRoundedRect(QRectF(x * s, 164 * s, 28 * s, 16 * s), 4 * s, 4 * s)
    p.setBrush(QBrush(colour))
    p.drawRoundedRect(QRectF(x * s, 172 * s, 60 * s, 50 * s), 6 * s, 6 * s)


def to_pillow(image: QImage) -> Image.Image:
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    return Image.frombuffer(
        "RGBA", (rgba.width(), rgba.height()), bytes(rgba.constBits()), "raw", "RGBA", 0, 1
    )


def main() -> int:
    QGuiApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (32, 64, 256):
        draw(size).save(str(OUT / f"sorter-{size}.png"))
    big = to_pillow(draw(256))
    big.save(OUT / "sorter.ico", sizes=[(n, n) for n in SIZES])
    return 0


if __name__ == "__main__":
    sys.exit(main())
