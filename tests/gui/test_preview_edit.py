"""The preview you can edit: a folder opens onto all its images, and an image moved by hand
before copying is counted, kept when the slider moves, and copied where the user put it."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from test_sort_flow import scan_by_drop

from sorter.core.model.decide import UNCERTAIN

_SHOTS = os.environ.get("SORTER_EDIT_SHOTS")  # a folder for the screenshots, else none taken
SHOTS = Path(_SHOTS) if _SHOTS else None


def open_uncertain(qtbot, window):
    """Every image to uncertain (a known outcome for random weights), then "Show all 12"."""
    slider = window.preview.thresholds.slider
    slider.setValue(slider.maximum())
    tile = window.preview.tiles[UNCERTAIN]
    assert tile.show_all.isVisible() and tile.show_all.text() == "Show all 12"
    qtbot.mouseClick(tile.show_all, Qt.MouseButton.LeftButton)
    view = window.preview.images_view
    qtbot.waitUntil(lambda: view is not None and view.isVisible())
    return view


def click_image(qtbot, view, row: int) -> Path:
    item = view.grid.item(row)
    point = view.grid.visualItemRect(item).center()
    qtbot.mouseClick(view.grid.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert view.grid.selectedItems() == [item]
    return Path(item.data(Qt.ItemDataRole.UserRole))


def save_shot(widget, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(SHOTS / f"{name}.png"))


def test_show_all_opens_every_image_of_a_folder(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    view = open_uncertain(qtbot, window)
    shown = sorted(Path(view.grid.item(r).text()).name for r in range(view.grid.count()))
    assert shown == sorted(p.name for p in photos.iterdir())  # all 12, not the tile's 4
    assert "12 images" in view.header.text()
    qtbot.waitUntil(lambda: not view.grid.item(11).icon().isNull(), timeout=10_000)
    save_shot(view, "1-show-all-uncertain")


def test_a_moved_image_is_counted_kept_and_copied_there(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    view = open_uncertain(qtbot, window)
    moved = click_image(qtbot, view, 0)
    qtbot.keyClick(view.grid, Qt.Key.Key_2)  # the second category: dogs
    preview = window.preview
    assert preview.tiles[UNCERTAIN].count == 11 and preview.tiles["dogs"].count == 1
    assert preview.uncertain_label.text() == "11 would go to uncertain"
    assert preview.copy_button.text() == "Copy 12 images into 2 folders"
    assert preview.moved_label.text() == "1 image moved by hand ·"
    assert view.grid.count() == 11  # the open view follows the plan
    qtbot.waitUntil(lambda: not view.grid.item(0).icon().isNull(), timeout=10_000)
    save_shot(window, "2-moved-one-image")
    save_shot(view, "3-uncertain-after-the-move")
    slider = preview.thresholds.slider
    slider.setValue(slider.maximum() - 1)  # a slider move keeps the hand-made choice
    assert preview.tiles["dogs"].count == 1
    view.close()
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "SummaryPage"
    ):
        qtbot.mouseClick(preview.copy_button, Qt.MouseButton.LeftButton)
    out = photos.with_name("Holiday photos (sorted)")
    assert (out / "dogs" / moved.name).read_bytes() == moved.read_bytes()
    assert not (out / UNCERTAIN / moved.name).exists()
    assert len(list((out / UNCERTAIN).iterdir())) == 11
