"""The review grid as a photo app's: legible tiles at any size, a large view, and a key for
every category (digits, and a type-to-filter picker) in the grid, the large view and the dialog.

The window shows a review of 12 real photos over the default model's 15 categories.
"""

from __future__ import annotations

import pytest
from fakes import make_review_set
from gui_helpers import colour_share, ctrl_wheel, paint_tile
from PySide6.QtCore import Qt

from sorter.core.settings import load_settings

LONG_NAME = "a-very-long-file-name-straight-from-the-camera-IMG_20240612_153012_HDR.jpg"
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def grid(qtbot, window, tmp_path):
    """The window's review page showing a 15-category review of 12 photos."""
    review = make_review_set(tmp_path / "Holiday", 12)
    long = review.items[1].path.rename(review.items[1].path.with_name(LONG_NAME))
    review.items[1].path = long
    window.review_set = review
    window.open_review()
    page = window.review_page
    qtbot.waitUntil(page.view.isVisible)
    return page


def _is_dark(colour) -> bool:
    return colour.lightness() < 110


def _is_amber(colour) -> bool:  # the pending badge
    return colour.red() > 200 and 130 < colour.green() < 200 and colour.blue() < 80


def test_a_tile_shows_its_name_on_one_line_below_the_picture_at_the_smallest_size(qtbot, grid):
    from sorter.gui.review_tiles import tile_layout

    page, view = grid, grid.view
    page.size_slider.setValue(page.size_slider.minimum())
    row = next(r for r, item in enumerate(page.model.items) if item.path.name == LONG_NAME)
    index = page.model.index(row)
    rect = view.visualRect(index)
    assert rect.width() < 130  # a small tile: the name must be shortened to fit
    lay = tile_layout(rect, page.thumbnail_size(), view.fontMetrics())
    name, scores, _, _ = page.delegate.texts(index, view.fontMetrics(), lay.name.width())
    assert "…" in name and name.startswith("a-") and name.endswith(".jpg")
    assert view.fontMetrics().horizontalAdvance(name) <= lay.name.width()
    item = page.model.items[row]
    best = max(zip(item.scores, page.model.categories, strict=True))
    assert scores.startswith(f"{best[1]} {best[0]:.2f}")  # the top score leads the second row
    assert lay.picture.bottom() < lay.name.top() < lay.scores.top() < lay.badge.top()
    assert lay.badge.bottom() <= rect.bottom()  # every row inside the tile, none over the picture
    tile = paint_tile(view, row)
    name_row = lay.name.translated(-rect.topLeft())
    assert colour_share(tile, name_row, _is_dark) > 0.03  # the name is really painted there
    assert LONG_NAME in index.data(Qt.ItemDataRole.ToolTipRole)  # and whole in the tooltip


def test_a_pending_change_shows_as_a_badge_on_the_tile(qtbot, grid):
    from sorter.gui.review_tiles import tile_layout

    page, view = grid, grid.view
    item = page.model.items[0]
    qtbot.keyClick(view, Qt.Key.Key_6)
    assert item.pending == ["landscape"]
    qtbot.keyClick(view, Qt.Key.Key_Right)  # off the tile, so no selection colour covers it
    rect = view.visualRect(page.model.index(0))
    lay = tile_layout(rect, page.thumbnail_size(), view.fontMetrics())
    texts = page.delegate.texts(page.model.index(0), view.fontMetrics(), lay.name.width())
    assert texts[2:] == ("pending", "→ landscape")
    badge_row = lay.badge.translated(-rect.topLeft())
    assert colour_share(paint_tile(view, 0), badge_row, _is_amber) > 0.2


def test_the_size_slider_and_ctrl_wheel_resize_the_tiles_and_the_size_is_remembered(qtbot, grid):
    page, view = grid, grid.view
    index = page.model.index(0)
    small = view.visualRect(index).size()
    page.size_slider.setValue(320)
    large = view.visualRect(index).size()
    assert large.width() >= 320 > small.width()
    assert large.height() > 320 + 2 * view.fontMetrics().height()  # the text rows stay below
    ctrl_wheel(view.viewport(), -2)  # towards the user: smaller
    assert page.size_slider.value() == 288
    qtbot.waitUntil(lambda: view.visualRect(index).width() == large.width() - 32, timeout=2_000)
    path = page.model.items[0].path
    qtbot.waitUntil(lambda: page.delegate.cache.get(path, 288) is not None, timeout=20_000)
    assert max(page.delegate.cache.get(path, 288).width(), 1) <= 288
    qtbot.waitUntil(lambda: load_settings().thumbnail_size == 288, timeout=5_000)


def test_space_opens_the_large_view_where_arrows_and_digits_work(qtbot, grid):
    page, view = grid, grid.view
    items = page.model.items
    qtbot.keyClick(view, Qt.Key.Key_Space)
    large = page.large_view
    assert large.isVisible() and large.item is items[0]
    assert items[0].path.name in large.name.text() and large.position.text() == "1 of 12"
    qtbot.waitUntil(lambda: large.image.pixmap() is not None and not large.image.pixmap().isNull())
    assert large.image.pixmap().width() > 100  # fitted to the window, not a thumbnail
    qtbot.keyClick(large, Qt.Key.Key_Right)
    assert large.item is items[1] and view.currentIndex().row() == 1
    qtbot.keyClick(large, Qt.Key.Key_3)
    assert items[1].pending == ["fish & sea life"]
    assert "→ fish & sea life" in large.badge.text()
    qtbot.mouseClick(large.previous_button, Qt.MouseButton.LeftButton)
    assert large.item is items[0]
    qtbot.keyClick(large, Qt.Key.Key_Escape)
    assert view.isVisible() and view.currentIndex().row() == 0
    centre = view.visualRect(page.model.index(2)).center()
    # A real double-click: press, release, then the double-click press and its release.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert large.isVisible() and large.item is items[2]


def test_shift_click_selects_several_and_a_digit_labels_them_all(qtbot, grid):
    page, view = grid, grid.view
    for row, keys in ((0, Qt.KeyboardModifier.NoModifier), (2, SHIFT)):
        centre = view.visualRect(page.model.index(row)).center()
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, keys, centre)
    chosen = page.selected_items()
    assert chosen == page.model.items[:3]
    qtbot.keyClick(view, Qt.Key.Key_5)
    assert [item.pending for item in chosen] == [["food & drink"]] * 3


def _open_dialog(qtbot, page):
    window = page.window()
    window.open_correction_dialog(page.model.items[0])
    dialog = window.correction_dialog
    qtbot.waitExposed(dialog)
    return dialog


def test_a_plain_digit_in_the_dialog_toggles_its_category(qtbot, grid):
    dialog = _open_dialog(qtbot, grid)
    focused = dialog.focusWidget() or dialog
    qtbot.keyClick(focused, Qt.Key.Key_3)
    assert dialog.checks["fish & sea life"].isChecked()
    qtbot.keyClick(focused, Qt.Key.Key_3)
    assert not dialog.checks["fish & sea life"].isChecked()
    qtbot.keyClick(focused, Qt.Key.Key_9)
    assert dialog.labels() == ["furniture"]


def test_the_dialog_shows_every_category_without_scrolling(qtbot, grid):
    dialog = _open_dialog(qtbot, grid)
    assert len(dialog.checks) == 15
    hidden = [
        name
        for name, box in dialog.checks.items()
        if box.visibleRegion().boundingRect() != box.rect()  # below the fold
        or box.width() < box.sizeHint().width()  # or squeezed: its text cut off
    ]
    assert hidden == []


def test_the_picker_finds_category_12_by_typing_in_the_grid(qtbot, grid):
    page, view = grid, grid.view
    item = page.model.items[0]
    qtbot.keyClick(view, Qt.Key.Key_E)  # a letter opens the picker, already filtered by it
    picker = page.picker
    assert picker.isVisible() and picker.filter.text() == "e"
    qtbot.keyClicks(picker.filter, "lec")
    assert picker.choices()[0] == "electronics"  # category 12: no digit key reaches it
    qtbot.keyClick(picker.filter, Qt.Key.Key_Return)
    assert item.pending == ["electronics"]
    assert not picker.isVisible()


def test_the_picker_works_the_same_in_the_large_view_and_the_dialog(qtbot, grid):
    page = grid
    qtbot.keyClick(page.view, Qt.Key.Key_Space)
    qtbot.keyClick(page.large_view, Qt.Key.Key_Slash)  # "/" opens it empty
    assert page.picker.filter.text() == ""
    qtbot.keyClicks(page.picker.filter, "spo")
    qtbot.keyClick(page.picker.filter, Qt.Key.Key_Return)
    assert page.model.items[0].pending == ["sports"]  # the 15th, below every fold before
    qtbot.keyClick(page.large_view, Qt.Key.Key_Escape)
    dialog = _open_dialog(qtbot, page)
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_T)
    qtbot.keyClicks(dialog.picker.filter, "oo")
    qtbot.keyClick(dialog.picker.filter, Qt.Key.Key_Return)
    assert dialog.checks["tools"].isChecked() and dialog.checks["sports"].isChecked()


def test_a_new_category_is_made_in_the_picker_and_offered_again(qtbot, grid):
    page, view = grid, grid.view
    qtbot.keyClick(view, Qt.Key.Key_Slash)
    qtbot.keyClicks(page.picker.filter, "teapots")
    assert page.picker.choices() == ["teapots"]
    assert "New category" in page.picker.list.item(0).text()
    qtbot.keyClick(page.picker.filter, Qt.Key.Key_Return)
    assert page.model.items[0].pending == ["teapots"]
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_T)
    assert page.picker.choices()[:2] == ["tools", "teapots"]  # made here: after the model's
    assert "New category" not in page.picker.list.item(1).text()


def test_a_size_change_keeps_the_current_image_in_view_in_a_long_grid(qtbot, window, tmp_path):
    from sorter.core.sorting.review_items import ReviewItem, ReviewSet

    # 1,500 tiles: laid out in several batches; the pictures are missing ("no preview").
    items = [
        ReviewItem(tmp_path / f"img_{i:04d}.jpg", [0.3, 0.2, 0.1], ["uncertain"])
        for i in range(1500)
    ]
    window.review_set = ReviewSet(["cats", "dogs", "cars"], items)
    window.open_review()
    page, view = window.review_page, window.review_page.view
    last = page.model.index(1499)
    view.setCurrentIndex(last)
    for size in (320, 96, 208):
        page.size_slider.setValue(size)
        qtbot.waitUntil(
            lambda s=size: page.thumbnail_size() == s and view.viewport().updatesEnabled(),
            timeout=5_000,
        )
        assert view.viewport().rect().contains(view.visualRect(last)), size
