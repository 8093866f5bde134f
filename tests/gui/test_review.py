"""Review and correction: keyboard first, and every saved correction fixes the output and queues."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from sorter.core.learning.queue import CorrectionQueue


def _copy_everything_to_uncertain(qtbot, window, photos: Path) -> Path:
    """Scan, push the slider to the top (every image uncertain), copy; returns OUT."""
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        window.open_sources([photos])
    slider = window.preview.thresholds.slider
    slider.setValue(slider.maximum())
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("SummaryPage")):
        qtbot.mouseClick(window.preview.copy_button, Qt.MouseButton.LeftButton)
    return window.result.out


def _is(name: str):
    return lambda page: page == name


@pytest.fixture
def reviewing(qtbot, window, photos):
    """The window showing the review grid of a sort where every image went to uncertain."""
    out = _copy_everything_to_uncertain(qtbot, window, photos)
    qtbot.mouseClick(window.summary.review_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.review_page
    return window, out


def test_review_lists_uncertain_least_certain_first_with_reasons(reviewing):
    window, _ = reviewing
    page = window.review_page
    items = page.model.items
    assert len(items) == 12
    tops = [max(item.scores) for item in items]
    assert tops == sorted(tops)
    text = page.model.index(0).data()
    assert items[0].path.name in text
    assert any(f"{name} 0." in text for name in ("cats", "dogs", "cars"))
    assert page.folder_box.currentText() == "uncertain (12)"


def test_keyboard_correction_fixes_output_and_queue(qtbot, reviewing):
    window, out = reviewing
    view = window.review_page.view
    qtbot.keyClick(view, Qt.Key.Key_Right)  # arrows move: now the second image
    item = window.review_page.selected_items()[0]
    assert item is window.review_page.model.items[1]
    qtbot.keyClick(view, Qt.Key.Key_1)  # toggles "cats"
    qtbot.keyClick(view, Qt.Key.Key_3)  # toggles "cars"
    assert item.pending == ["cats", "cars"]
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert (out / "cats" / item.path.name).is_file()
    assert (out / "cars" / item.path.name).is_file()
    assert not (out / "uncertain" / item.path.name).exists()
    assert item.path.is_file()  # the source stays
    queued = CorrectionQueue().list()
    assert [(Path(c.source_path).name, c.labels) for c in queued] == [
        (item.path.name, ["cats", "cars"])
    ]
    assert window.queue_label.text() == "1 correction waiting"
    assert "✓ cats, cars" in window.review_page.model.index(1).data()


def test_bulk_none_of_these_with_delete(qtbot, reviewing):
    window, out = reviewing
    view = window.review_page.view
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # select two
    chosen = window.review_page.selected_items()
    assert len(chosen) == 2
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert sorted(c.labels for c in CorrectionQueue().list()) == [[], []]
    for item in chosen:  # "none of these" keeps it in uncertain
        assert (out / "uncertain" / item.path.name).is_file()
    assert window.queue_label.text() == "2 corrections waiting"


def test_correction_dialog_with_a_new_category(qtbot, reviewing):
    window, out = reviewing
    view = window.review_page.view
    qtbot.keyClick(view, Qt.Key.Key_Return)  # nothing pending: Enter opens the dialog
    dialog = window.correction_dialog
    assert dialog is not None and dialog.isVisible()
    item = dialog.item
    assert set(dialog.checks) == {"cats", "dogs", "cars"}
    assert "(0." in dialog.checks["dogs"].text()  # the model's score beside each category
    qtbot.keyClicks(dialog.new_category, "teapots")
    qtbot.keyClick(dialog.new_category, Qt.Key.Key_Return)
    assert dialog.isVisible()  # Enter in the field adds the category, it does not save
    dialog.checks["dogs"].setChecked(True)
    assert dialog.labels() == ["dogs", "teapots"]
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.mouseClick(
            dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton
        )
    assert (out / "dogs" / item.path.name).is_file()
    assert (out / "teapots" / item.path.name).is_file()
    assert CorrectionQueue().list()[0].labels == ["dogs", "teapots"]


def test_thumbnails_load_off_the_gui_thread(qtbot, reviewing):
    window, _ = reviewing
    first = window.review_page.model.items[0]
    qtbot.waitUntil(lambda: window.thumbs.get(first.path) is not None, timeout=20_000)
    image = window.thumbs.get(first.path)
    assert max(image.width(), image.height()) <= window.thumbs.size


def test_review_another_category(qtbot, reviewing):
    window, _ = reviewing
    box = window.review_page.folder_box
    box.setCurrentIndex(box.findData(""))  # all images
    assert len(window.review_page.model.items) == 12
    box.setCurrentIndex(box.findData("cats"))
    assert window.review_page.model.items == []


def test_enter_saves_and_moves_the_selection_on(qtbot, reviewing):
    window, _ = reviewing
    page, view = window.review_page, window.review_page.view
    items = list(page.model.items)
    qtbot.keyClick(view, Qt.Key.Key_1)
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert view.currentIndex().row() == 1
    assert page.selected_items() == [items[1]]  # the next image alone, ready for its key
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert page.selected_items() == items[1:4]
    qtbot.keyClick(view, Qt.Key.Key_2)  # a bulk decision...
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert page.selected_items() == [items[4]]  # ...moves past the last image chosen
    assert sorted(c.labels for c in CorrectionQueue().list()) == [["cats"]] + [["dogs"]] * 3


def test_the_dialog_steps_through_the_grid_and_save_moves_it_on(qtbot, reviewing):
    window, out = reviewing
    page, view = window.review_page, window.review_page.view
    items = list(page.model.items)
    qtbot.keyClick(view, Qt.Key.Key_Return)  # nothing pending: the dialog
    dialog = window.correction_dialog
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_2)  # a plain digit: dogs
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_PageDown)  # next image
    assert dialog.item is items[1] and view.currentIndex().row() == 1
    assert items[0].pending == ["dogs"]  # left as a change the grid shows and Enter saves
    assert "→ dogs" in page.model.index(0).data()
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_3)
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.mouseClick(
            dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton
        )
    assert (out / "cars" / items[1].path.name).is_file()
    assert not (out / "dogs" / items[0].path.name).exists()  # not saved: only pending
    assert view.currentIndex().row() == 2


def test_a_category_made_in_the_picker_gets_its_folder(qtbot, reviewing):
    window, out = reviewing
    page, view = window.review_page, window.review_page.view
    item = page.model.items[0]
    qtbot.keyClick(view, Qt.Key.Key_Slash)
    qtbot.keyClicks(page.picker.filter, "teapots")
    qtbot.keyClick(page.picker.filter, Qt.Key.Key_Return)
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert (out / "teapots" / item.path.name).is_file()
    assert CorrectionQueue().list()[0].labels == ["teapots"]


def test_enter_in_the_large_view_saves_and_shows_the_next_image(qtbot, reviewing):
    window, out = reviewing
    page = window.review_page
    items = list(page.model.items)
    qtbot.keyClick(page.view, Qt.Key.Key_Space)
    qtbot.keyClick(page.large_view, Qt.Key.Key_3)
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.keyClick(page.large_view, Qt.Key.Key_Return)
    assert (out / "cars" / items[0].path.name).is_file()
    assert page.large_view.isVisible() and page.large_view.item is items[1]


# --- a single-label model: one category per image, in the grid and in the dialog -----------------


@pytest.fixture(scope="module")
def single_label_model(tmp_path_factory) -> Path:
    import torch
    from fakes import tiny_meta

    from sorter.core.model.modelfile import save_model
    from sorter.core.model.networks import build_network

    names = ("cats", "dogs", "cars")
    meta = tiny_meta(
        names, activation="softmax-groups", groups={n: [i] for i, n in enumerate(names)}
    )
    assert meta.exclusive
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("single") / "single.pth"
    save_model(path, meta, build_network(meta).state_dict())
    return path


@pytest.fixture
def reviewing_single(qtbot, single_label_model, photos):
    from gui_helpers import open_main_window

    window = open_main_window(qtbot, single_label_model)
    out = _copy_everything_to_uncertain(qtbot, window, photos)
    qtbot.mouseClick(window.summary.review_button, Qt.MouseButton.LeftButton)
    yield window, out
    window.close()


def test_a_single_label_models_corrections_pick_one_category(qtbot, reviewing_single, tmp_path):
    window, out = reviewing_single
    page, view = window.review_page, window.review_page.view
    items = list(page.model.items)
    qtbot.keyClick(view, Qt.Key.Key_1)
    qtbot.keyClick(view, Qt.Key.Key_3)  # replaces cats: the model puts an image in one folder
    assert items[0].pending == ["cars"]
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert (out / "cars" / items[0].path.name).is_file()
    assert not (out / "cats").exists()

    qtbot.keyClick(view, Qt.Key.Key_Return)  # the next image: nothing pending, so the dialog
    dialog = window.correction_dialog
    assert dialog.item is items[1]
    qtbot.waitUntil(lambda: dialog.checks["dogs"].isVisible())
    shown = " ".join(label.text() for label in dialog.findChildren(type(dialog.path_label)))
    assert "One category: this model puts each image in one folder." in shown
    assert "1-9 picks" in shown
    for name in ("dogs", "cats"):
        box = dialog.checks[name]
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert dialog.labels() == ["cats"]
    qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_2)
    assert dialog.labels() == ["dogs"]
    qtbot.keyClicks(dialog.new_category, "teapots")
    qtbot.keyClick(dialog.new_category, Qt.Key.Key_Return)
    assert dialog.labels() == ["teapots"]
    qtbot.waitUntil(lambda: dialog.checks["teapots"].isVisible())
    qtbot.waitUntil(lambda: dialog.image_label._source is not None, timeout=20_000)
    dialog.grab().save(str(tmp_path / "single-label-correction.png"))
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.mouseClick(
            dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton
        )
    assert (out / "teapots" / items[1].path.name).is_file()
    assert not (out / "dogs").exists()
    assert [c.labels for c in CorrectionQueue().list()] == [["cars"], ["teapots"]]
