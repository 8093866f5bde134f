"""Sorting a folder again updates its earlier sort (diff first); undo takes a sort back; the
summary and the review's counts stay true after corrections."""

from __future__ import annotations

from pathlib import Path

from gui_helpers import drop_paths
from PySide6.QtCore import Qt

from sorter.core.model.decide import UNCERTAIN

LEFT = Qt.MouseButton.LeftButton


def _is(name: str):
    return lambda page: page == name


def scan_by_drop(qtbot, window, folder: Path, target=None) -> None:
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        assert drop_paths(target or window.home.drop_area, [folder])


def set_slider(window, top: bool) -> None:
    slider = window.preview.thresholds.slider
    slider.setValue(slider.maximum() if top else slider.minimum())


def copy_by_click(qtbot, window) -> None:
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("SummaryPage")):
        qtbot.mouseClick(window.preview.copy_button, LEFT)


def images_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def sort_all_uncertain(qtbot, window, photos: Path) -> Path:
    scan_by_drop(qtbot, window, photos)
    set_slider(window, top=True)
    copy_by_click(qtbot, window)
    return window.result.out


def test_sorting_again_at_a_lower_threshold_leaves_no_stale_copies(qtbot, window, photos):
    out = sort_all_uncertain(qtbot, window, photos)
    qtbot.mouseClick(window.summary.again_button, LEFT)
    scan_by_drop(qtbot, window, photos)
    set_slider(window, top=False)  # every image now passes every category
    copy_by_click(qtbot, window)
    assert images_in(out / UNCERTAIN) == []  # the old copies went: an update, not a pile
    assert all(len(images_in(out / c)) == 12 for c in ("cats", "dogs", "cars"))
    assert window.summary.title.text() == "Sort updated: 12 images moved, 12 old copies removed"
    assert UNCERTAIN not in window.summary.folder_buttons


def test_the_preview_shows_the_update_before_it_is_applied(qtbot, window, photos):
    out = sort_all_uncertain(qtbot, window, photos)
    qtbot.mouseClick(window.summary.again_button, LEFT)
    scan_by_drop(qtbot, window, photos)
    set_slider(window, top=False)
    label = window.preview.update_label
    assert label.isVisible()
    text = label.text()
    assert "12 images were sorted into this folder before" in text
    assert "12 move</b>" in text and "12 old copies go" in text and "0 stay" in text
    assert "uncertain -12" in text and "cats +12" in text
    assert window.preview.copy_button.text() == "Update the sort"
    assert images_in(out / UNCERTAIN) == sorted(p.name for p in photos.iterdir())  # not yet


def test_the_same_sort_again_says_nothing_changed_not_n_copies(qtbot, window, photos):
    sort_all_uncertain(qtbot, window, photos)
    assert window.summary.title.text() == "Done: 12 copies written into 1 folder"
    qtbot.mouseClick(window.summary.again_button, LEFT)
    scan_by_drop(qtbot, window, photos)
    set_slider(window, top=True)
    assert "12 stay" in window.preview.update_label.text()
    copy_by_click(qtbot, window)
    assert window.summary.title.text().startswith("Nothing to update")
    assert "0 files written" in window.summary.detail.text()


def test_a_first_sort_shows_no_update(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    assert not window.preview.update_label.isVisible()
    assert window.preview.copy_button.text().startswith("Copy 12 images")


def test_undo_this_sort_from_the_summary_keeps_a_changed_copy(qtbot, window, photos):
    out = sort_all_uncertain(qtbot, window, photos)
    (out / UNCERTAIN / "photo_000.png").write_bytes(b"edited after sorting")
    before = {p.name: p.read_bytes() for p in photos.iterdir()}
    qtbot.mouseClick(window.summary.undo_button, LEFT)
    qtbot.waitUntil(lambda: window.summary.title.text().startswith("Sort undone"), timeout=30_000)
    assert window.summary.title.text() == "Sort undone: 11 copies removed"
    assert "1 copy kept because it was changed since the sort" in window.summary.detail.text()
    assert images_in(out / UNCERTAIN) == ["photo_000.png"]
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == before
    assert not window.summary.undo_button.isEnabled()
    assert not window.summary.review_button.isEnabled()
    assert not window.undo_action.isEnabled()


def test_undo_this_sort_from_the_file_menu_after_an_update(qtbot, window, photos):
    assert not window.undo_action.isEnabled()  # nothing sorted yet
    out = sort_all_uncertain(qtbot, window, photos)
    qtbot.mouseClick(window.summary.again_button, LEFT)
    scan_by_drop(qtbot, window, photos)
    set_slider(window, top=False)
    copy_by_click(qtbot, window)
    assert window.undo_action.isEnabled()
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: window.summary.title.text().startswith("Sort undone"), timeout=30_000)
    assert window.summary.title.text() == "Sort undone: 36 copies removed"
    assert [p for p in out.rglob("*") if p.is_file() and ".sorter" not in p.parts] == [
        out / "sorter-report.csv"
    ]


def test_counts_follow_corrections_and_a_new_category_appears(qtbot, window, photos):
    out = sort_all_uncertain(qtbot, window, photos)
    qtbot.mouseClick(window.summary.review_button, LEFT)
    page = window.review_page
    qtbot.keyClick(page.view, Qt.Key.Key_1)  # cats
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.keyClick(page.view, Qt.Key.Key_Return)
    texts = [page.folder_box.itemText(i) for i in range(page.folder_box.count())]
    assert "uncertain (11)" in texts and "cats (1)" in texts
    assert page.folder_box.currentText() == "uncertain (11)"
    assert "cats" in window.summary.folder_buttons
    assert window.summary.review_button.text() == "Review uncertain (11)"
    qtbot.keyClick(page.view, Qt.Key.Key_Return)  # nothing pending: the correction dialog
    dialog = window.correction_dialog
    qtbot.keyClicks(dialog.new_category, "teapots")
    qtbot.keyClick(dialog.new_category, Qt.Key.Key_Return)
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), LEFT)
    texts = [page.folder_box.itemText(i) for i in range(page.folder_box.count())]
    assert "teapots (1)" in texts and "uncertain (10)" in texts
    assert "teapots" in window.summary.folder_buttons
    assert (out / "teapots").is_dir()


def test_a_new_model_starts_from_its_own_threshold_not_the_last_models_slider(
    qtbot, window, photos, tmp_path
):
    import torch
    from fakes import tiny_meta

    from sorter.core.model.modelfile import save_model
    from sorter.core.model.networks import build_network

    sort_all_uncertain(qtbot, window, photos)  # the slider at its top, saved with the copy
    assert window.settings.default_threshold == 0.99
    torch.manual_seed(1)
    meta = tiny_meta(default_threshold=0.3)  # as if training had chosen 0.3
    retrained = tmp_path / "retrained.pth"
    save_model(retrained, meta, build_network(meta).state_dict())
    with qtbot.waitSignal(window.model_ready, timeout=60_000):
        window.use_model_file(str(retrained))
    qtbot.mouseClick(window.summary.again_button, LEFT)
    scan_by_drop(qtbot, window, photos)
    assert window.preview.thresholds.slider.value() == 30  # 0.30, the new model's own


def test_dropping_the_sorted_folder_itself_sorts_its_photos_again_into_it(
    qtbot, window, photos, tmp_path
):
    """The output is what a user has in front of them after a retrain: dropped on the window,
    its photos are scored again and the preview offers the update of that folder (no
    "(sorted) (sorted)" pile of copies of copies)."""
    import os

    out = sort_all_uncertain(qtbot, window, photos)
    qtbot.mouseClick(window.summary.again_button, LEFT)
    scan_by_drop(qtbot, window, out)
    assert window.result.out == out
    set_slider(window, top=False)
    text = window.preview.update_label.text()
    assert "12 images were sorted into this folder before" in text and "0 new</b>" in text
    if os.environ.get("SORTER_SHOTS"):
        qtbot.wait(1500)  # thumbnails come in the background
        window.grab().save(os.path.join(os.environ["SORTER_SHOTS"], "output-dropped.png"))
    copy_by_click(qtbot, window)
    assert window.summary.title.text() == "Sort updated: 12 images moved, 12 old copies removed"
    assert images_in(out / UNCERTAIN) == []
    assert not Path(f"{out} (sorted)").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([photos.name, out.name])


def test_a_sorted_folder_whose_photos_are_gone_says_so(qtbot, window, photos, tmp_path):
    import shutil

    out = sort_all_uncertain(qtbot, window, photos)
    qtbot.mouseClick(window.summary.again_button, LEFT)
    shutil.rmtree(photos)
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("HomePage")):
        assert drop_paths(window.home.drop_area, [out])
    message = window.last_error.message_label.text()
    assert "None of the photos sorted into" in message and "nothing to sort again" in message
    assert len(images_in(out / UNCERTAIN)) == 12  # untouched
