"""Copy, hard link or move, chosen in the preview's Advanced settings: what each says before it
runs, what it does to the photos, and how review, corrections and undo follow a move."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from test_update_and_undo import copy_by_click, images_in, scan_by_drop, set_slider

from sorter.core.learning.queue import CorrectionQueue
from sorter.core.model.decide import UNCERTAIN
from sorter.core.settings import load_settings

LEFT = Qt.MouseButton.LeftButton


def choose(qtbot, window, mode: str) -> None:
    """Open Advanced and click the mode's radio button, as a user would."""
    if not window.preview.thresholds.advanced_button.isChecked():
        qtbot.mouseClick(window.preview.thresholds.advanced_button, LEFT)
    button = window.preview.mode_row.buttons[mode]
    assert button.isVisible()
    qtbot.mouseClick(button, LEFT, pos=button.rect().center())


def test_copy_is_the_default_and_says_nothing_extra(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    row = window.preview.mode_row
    assert row.mode() == "copy"
    assert not row.choices.isVisible()  # behind Advanced
    assert not row.notice.isVisible()
    assert window.preview.copy_button.text().startswith("Copy 12 images into ")


def test_move_warns_in_plain_sight_and_the_button_says_move(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    choose(qtbot, window, "move")
    row = window.preview.mode_row
    assert row.notice.isVisible()
    assert "Move takes every photo out of" in row.note.text()
    assert str(photos) in row.note.text()
    assert "Undo this sort" in row.note.text()
    qtbot.mouseClick(window.preview.thresholds.advanced_button, LEFT)  # Advanced closed again
    assert not row.choices.isVisible()
    assert row.notice.isVisible()  # a move is never chosen out of sight
    assert window.preview.copy_button.text().startswith("Move 12 images into ")
    assert "Nothing has been moved yet" in window.preview.header.text()
    assert window.preview.output_row.caption.text() == "Photos go to:"


def test_a_mode_click_changes_the_words_without_planning_again(qtbot, window, photos, monkeypatch):
    scan_by_drop(qtbot, window, photos)
    result = window.preview.result
    plans = []
    monkeypatch.setattr(
        result, "plan", lambda th: plans.append(th) or type(result).plan(result, th)
    )
    counts = {name: tile.count for name, tile in window.preview.tiles.items()}
    choose(qtbot, window, "link")
    assert window.preview.copy_button.text().startswith("Link 12 images into ")
    choose(qtbot, window, "move")
    assert window.preview.copy_button.text().startswith("Move 12 images into ")
    assert plans == []  # the counts and samples on show are still the plan's
    assert {name: tile.count for name, tile in window.preview.tiles.items()} == counts
    set_slider(window, top=True)  # a slider move does plan again, in the chosen mode's words
    assert len(plans) >= 1
    assert window.preview.copy_button.text() == "Move 12 images into 1 folder"


def test_a_move_empties_the_source_and_undo_puts_every_photo_back(qtbot, window, photos):
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    scan_by_drop(qtbot, window, photos)
    set_slider(window, top=True)  # all uncertain
    choose(qtbot, window, "move")
    copy_by_click(qtbot, window)
    out = window.result.out
    assert images_in(photos) == []
    assert {p.name: p.read_bytes() for p in (out / UNCERTAIN).iterdir()} == before
    assert window.summary.title.text() == "Done: 12 photos moved into 1 folder"
    assert "12 moved out of their folder" in window.summary.detail.text()
    assert "hard links" not in window.summary.detail.text()  # how a move is made: not news
    assert "moved photo back" in window.summary.undo_button.toolTip()
    qtbot.mouseClick(window.summary.undo_button, LEFT)
    qtbot.waitUntil(lambda: window.summary.title.text().startswith("Sort undone"), timeout=30_000)
    assert window.summary.title.text() == "Sort undone: 12 photos put back in their folder"
    assert "Nothing else in the output folder was touched" in window.summary.detail.text()
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == before
    assert images_in(out / UNCERTAIN) == []


def test_after_a_move_review_shows_the_copies_and_a_correction_is_queued(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    set_slider(window, top=True)
    choose(qtbot, window, "move")
    copy_by_click(qtbot, window)
    out = window.result.out
    qtbot.mouseClick(window.summary.review_button, LEFT)
    page = window.review_page
    item = page.current_item()
    assert not item.path.exists() and item.shown == out / UNCERTAIN / item.path.name
    cache = page.delegate.cache
    qtbot.waitUntil(
        lambda: cache.get(item.shown, page.thumbnail_size()) is not None, timeout=30_000
    )
    assert not cache.failed(item.shown)
    qtbot.keyClick(page.view, Qt.Key.Key_1)  # cats
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.keyClick(page.view, Qt.Key.Key_Return)
    assert item.shown == out / "cats" / item.path.name  # the copy it lives in now
    assert item.shown.is_file() and not (out / UNCERTAIN / item.path.name).exists()
    queued = CorrectionQueue().list()
    assert [c.labels for c in queued] == [["cats"]]
    assert Path(queued[0].source_path) == item.shown


def test_link_is_remembered_and_a_move_never_is(qtbot, window, photos, tiny_model):
    scan_by_drop(qtbot, window, photos)
    set_slider(window, top=True)
    choose(qtbot, window, "link")
    assert "Hard links take no extra space" in window.preview.mode_row.note.text()
    assert window.preview.copy_button.text().startswith("Link 12 images into ")
    copy_by_click(qtbot, window)
    out = window.result.out
    assert all(p.stat().st_nlink == 2 for p in (out / UNCERTAIN).iterdir())
    assert "12 as hard links" in window.summary.detail.text()
    assert load_settings().sort_mode == "link"
    qtbot.mouseClick(window.summary.again_button, LEFT)
    scan_by_drop(qtbot, window, photos)
    assert window.preview.mode_row.mode() == "link"
    assert window.preview.mode_row.notice.isVisible()  # remembered, and still said
    choose(qtbot, window, "move")
    copy_by_click(qtbot, window)
    assert load_settings().sort_mode == "link"
    assert window.preview.mode_row.mode() == "link"  # the next sort starts from a link again


def test_moving_into_an_earlier_sort_updates_it_and_undo_restores_everything(qtbot, window, photos):
    from test_update_and_undo import sort_all_uncertain

    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    out = sort_all_uncertain(qtbot, window, photos)  # a copy first
    qtbot.mouseClick(window.summary.again_button, LEFT)
    scan_by_drop(qtbot, window, photos)
    set_slider(window, top=False)  # every image now passes every category
    choose(qtbot, window, "move")
    assert window.preview.copy_button.text() == "Update the sort"
    assert "new</b> are moved" in window.preview.update_label.text()
    copy_by_click(qtbot, window)
    assert images_in(photos) == []  # the update moved the photos out too
    assert images_in(out / UNCERTAIN) == []
    assert all(len(images_in(out / c)) == 12 for c in ("cats", "dogs", "cars"))
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: window.summary.title.text().startswith("Sort undone"), timeout=30_000)
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == before
    assert [p for p in out.rglob("*") if p.is_file() and ".sorter" not in p.parts] == [
        out / "sorter-report.csv"
    ]
