"""The review grid's tile: the picture, then the name, the top scores and a badge, never over it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from sorter.gui.review_model import PENDING, SAVED, badge
from sorter.gui.thumbnails import THUMB_SIZE, ThumbnailCache

log = logging.getLogger(__name__)

PAD = 6  # around the picture and the text, in pixels
MAX_TEXTS = 20_000  # elided texts remembered (they change only with the size or a decision)
PANEL_STATES = (
    QStyle.StateFlag.State_Selected
    | QStyle.StateFlag.State_MouseOver
    | QStyle.StateFlag.State_HasFocus
)
BADGE_COLOURS = {  # (background, text): readable on light and dark palettes alike
    PENDING: (QColor("#f2a516"), QColor("#1b1b1b")),
    SAVED: (QColor("#2e7d32"), QColor("#ffffff")),
}


@dataclass(frozen=True)
class TileLayout:
    """Where each part of a tile goes; the text rows lie below the picture, one line each."""

    picture: QRect
    name: QRect
    scores: QRect
    badge: QRect


def tile_size(picture: int, metrics: QFontMetrics) -> QSize:
    """A tile for pictures of `picture` px: the picture, then three one-line rows."""
    line = metrics.height()
    return QSize(picture + 2 * PAD, PAD + picture + PAD + 2 * line + (line + 4) + PAD)


def tile_layout(rect: QRect, picture: int, metrics: QFontMetrics) -> TileLayout:
    line = metrics.height()
    left, width = rect.left() + PAD, rect.width() - 2 * PAD
    top = rect.top() + PAD
    pic = QRect(rect.left() + (rect.width() - picture) // 2, top, picture, picture)
    name_top = pic.bottom() + 1 + PAD
    return TileLayout(
        picture=pic,
        name=QRect(left, name_top, width, line),
        scores=QRect(left, name_top + line, width, line),
        badge=QRect(left, name_top + 2 * line, width, line + 4),
    )


def fit(image_size: QSize, box: QRect) -> QRect:
    """The largest rectangle of the image's shape centred in `box`."""
    size = image_size.scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
    return QRect(
        box.left() + (box.width() - size.width()) // 2,
        box.top() + (box.height() - size.height()) // 2,
        size.width(),
        size.height(),
    )


class TileDelegate(QStyledItemDelegate):
    """Paints one review tile at the view's icon size; thumbnails come from the cache."""

    def __init__(self, cache: ThumbnailCache, parent=None) -> None:
        super().__init__(parent)
        self.cache = cache
        self.picture = THUMB_SIZE
        self._texts: dict[tuple[str, int, str, str], tuple[str, str, str, str]] = {}

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return tile_size(self.picture, option.fontMetrics)

    def texts(self, index: QModelIndex | QPersistentModelIndex, metrics: QFontMetrics, width: int):
        """(name, scores, badge kind, badge text) as painted: each elided to one line."""
        model = index.model()  # the ReviewListModel: no data() round trips while painting
        item = model.items[index.row()]
        kind, text = badge(item, model.show_folders)
        key = (str(item.path), width, kind, text)
        found = self._texts.get(key)
        if found is None:
            if len(self._texts) > MAX_TEXTS:
                self._texts.clear()
            scores = item.why(model.categories).replace(", ", " · ")
            found = self._texts[key] = (
                metrics.elidedText(item.path.name, Qt.TextElideMode.ElideMiddle, width),
                metrics.elidedText(scores, Qt.TextElideMode.ElideRight, width),
                kind,
                metrics.elidedText(text, Qt.TextElideMode.ElideRight, width - 2 * PAD),
            )
        return found

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        self._paint_background(painter, option)
        metrics = option.fontMetrics
        lay = tile_layout(option.rect, self.picture, metrics)
        painter.save()
        self._paint_picture(painter, lay.picture, index.model().items[index.row()].shown, option)
        name, scores, kind, badge = self.texts(index, metrics, lay.name.width())
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(option.palette.color(role))
        centre = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(lay.name, centre, name)
        painter.setPen(self._muted(option.palette, role))
        painter.drawText(lay.scores, centre, scores)
        if badge:
            self._paint_badge(painter, lay.badge, kind, badge, option.palette.color(role))
        painter.restore()

    @staticmethod
    def _paint_background(painter: QPainter, option: QStyleOptionViewItem) -> None:
        # Not initStyleOption(): the style gets no text or icon, so it paints only the panel.
        widget = option.widget
        style = widget.style() if widget is not None else None
        if style is None or not option.state & PANEL_STATES:
            return  # nothing to show; the style call alone costs as much as the text
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        if option.state & QStyle.StateFlag.State_HasFocus:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, option, painter, widget)

    def _paint_picture(self, painter: QPainter, box: QRect, path, option) -> None:
        image = self.cache.get(path, self.picture)
        if image is None:
            image = self.cache.stand_in(path, self.picture)
        if image is None:  # still decoding (or unreadable): a quiet placeholder
            shade = QColor(option.palette.color(QPalette.ColorRole.Mid))
            shade.setAlpha(70)
            painter.fillRect(box.adjusted(8, 8, -8, -8), shade)
            if self.cache.failed(path):
                painter.setPen(option.palette.color(QPalette.ColorRole.Text))
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "no preview")
            return
        target = fit(image.size(), box)
        if target.size() == image.size():
            painter.drawImage(target.topLeft(), image)
        else:  # a stand-in of another size, until the right one arrives
            painter.drawImage(target, image)

    @staticmethod
    def _muted(palette: QPalette, role: QPalette.ColorRole) -> QColor:
        colour = QColor(palette.color(role))
        colour.setAlphaF(0.72)
        return colour

    def _paint_badge(
        self, painter: QPainter, row: QRect, kind: str, text: str, plain: QColor
    ) -> None:
        metrics = painter.fontMetrics()
        width = min(row.width(), metrics.horizontalAdvance(text) + 2 * PAD)
        chip = QRect(
            row.left() + (row.width() - width) // 2, row.top() + 1, width, row.height() - 2
        )
        background, colour = BADGE_COLOURS.get(kind, (None, plain))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if background is not None:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(background)
        else:  # where the image is now: an outline only, so it does not shout
            painter.setPen(self._muted_pen_colour(plain))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(chip, chip.height() / 2, chip.height() / 2)
        painter.setPen(colour)
        painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, text)

    @staticmethod
    def _muted_pen_colour(colour: QColor) -> QColor:
        muted = QColor(colour)
        muted.setAlphaF(0.45)
        return muted
