"""*New model from example photos*: a folder of examples dropped on the dialog, real training,
the expected figures, and the model put to work in the window."""

from __future__ import annotations

import os
from pathlib import Path

from fakes import make_training_folder, noisy_image
from gui_helpers import drop_paths
from PySide6.QtCore import Qt

from sorter.core.learning.versions import current_version_name, list_versions

TRAIN_TIMEOUT_MS = 180_000


def _shot(widget, name: str) -> None:
    if os.environ.get("SORTER_SHOTS"):
        widget.grab().save(os.path.join(os.environ["SORTER_SHOTS"], f"{name}.png"))


def _open_dialog(qtbot, window):
    qtbot.mouseClick(window.home.own_categories_button, Qt.MouseButton.LeftButton)
    dialog = window.train_dialog
    assert dialog is not None and dialog.isVisible()
    assert not dialog.train_button.isEnabled()  # nothing to train on yet
    return dialog


def _drop_examples(qtbot, dialog, folder: Path) -> None:
    assert drop_paths(dialog, [folder])
    qtbot.waitUntil(lambda: dialog.data is not None, timeout=30_000)


def test_examples_dropped_on_the_dialog_train_a_model_the_window_then_uses(
    qtbot, window, tmp_path
) -> None:
    examples = make_training_folder(tmp_path / "Shop examples")
    dialog = _open_dialog(qtbot, window)
    _shot(dialog, "train-1-empty")
    _drop_examples(qtbot, dialog, examples)
    assert "2 categories, 24 photos: blue (12), red (12)." in dialog.found.text()
    assert dialog.train_button.isEnabled()
    assert dialog.title_row.isVisible() and dialog.title.text() == "Shop examples"
    dialog.title.selectAll()
    qtbot.keyClicks(dialog.title, "Colour cards")  # the user names the model
    _shot(dialog, "train-2-found")

    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    assert dialog.close_button.text() == "Cancel" and not dialog.choose_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.use_button.isVisible(), timeout=TRAIN_TIMEOUT_MS)
    _shot(dialog, "train-3-result")
    text = dialog.summary.text()
    assert "The new model learned 2 categories from 24 photos" in text
    assert "saved as model v1, “Colour cards”" in dialog.saved.text()
    assert not dialog.title_row.isVisible()
    assert "in exactly their own folder" in text  # the cross-validated estimates
    assert "Single-label model (every image is in exactly one category)" in text
    rows = [
        [dialog.table.item(r, c).text() for c in range(2)] for r in range(dialog.table.rowCount())
    ]
    assert rows == [["blue", "12"], ["red", "12"]]
    assert current_version_name() == "default"  # stored, not yet in use
    assert [v.name for v in list_versions(include_default=False)] == ["v1"]

    with qtbot.waitSignal(window.model_ready, timeout=60_000):
        qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert current_version_name() == "v1"
    assert window.model.categories == ["blue", "red"]
    assert window.model_label.text().startswith("Model: v1 (Colour cards)  ·  ")
    assert (
        window.home.drop_area.categories.text()
        == "Model v1 (Colour cards) knows 2 categories: blue, red."
    )

    # The window sorts with it: a dropped folder of new photos lands in the learned folders.
    photos = tmp_path / "New photos"
    for i in range(3):
        noisy_image(photos / f"red_{i}.png", (200, 30, 30), 500 + i)
        noisy_image(photos / f"blue_{i}.png", (30, 30, 200), 600 + i)
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "PreviewPage"
    ):
        assert drop_paths(window.home.drop_area, [photos])
    _shot(window, "train-5-sorting-with-it")
    counts = {name: tile.count for name, tile in window.preview.tiles.items() if tile.count}
    assert set(counts) <= {"blue", "red", "uncertain"} and counts.get("red", 0) >= 2
    assert counts.get("blue", 0) >= 2


def test_a_folder_that_cannot_train_says_why_and_a_good_one_then_can(
    qtbot, window, tmp_path
) -> None:
    one = tmp_path / "Only chairs"
    for i in range(4):
        noisy_image(one / "chairs" / f"c{i}.png", (120, 80, 40), i)
    dialog = _open_dialog(qtbot, window)
    assert drop_paths(dialog, [one])
    qtbot.waitUntil(lambda: "Only one category" in dialog.found.text(), timeout=30_000)
    assert not dialog.train_button.isEnabled()
    _shot(dialog, "train-4-one-category")
    good = make_training_folder(tmp_path / "Good")
    _drop_examples(qtbot, dialog, good)
    assert dialog.train_button.isEnabled()
    assert "has only" not in dialog.found.text()

    # A category with too few photos is said before training, which is still allowed.
    for i in range(3):
        noisy_image(good / "green" / f"g{i}.png", (30, 200, 30), 300 + i)
    _drop_examples(qtbot, dialog, good)
    assert "The category 'green' has only 3 image(s)" in dialog.found.text()
    assert dialog.train_button.isEnabled()


def test_closing_while_training_cancels_and_stores_nothing(qtbot, window, tmp_path) -> None:
    dialog = _open_dialog(qtbot, window)
    _drop_examples(qtbot, dialog, make_training_folder(tmp_path / "examples"))
    window.retrain_job = object()  # as while a retrain holds the training thread
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    assert dialog.stage.text() == "Waiting for the retrain in progress to finish..."
    window.retrain_job = None
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)  # it reads "Cancel"
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=TRAIN_TIMEOUT_MS)
    assert list_versions(include_default=False) == []
    assert current_version_name() == "default"
    assert window.model.categories == ["cats", "dogs", "cars"]  # the tiny model still in use


def test_the_found_line_counts_uncertain_photos_as_examples_of_none(tmp_path) -> None:
    from sorter.core.training.data import load_training_data
    from sorter.gui.train_result import found_text

    examples = make_training_folder(tmp_path / "Holiday (sorted)")
    for i in range(2):
        noisy_image(examples / "uncertain" / f"u{i}.png", (120, 120, 120), 700 + i)
    text = found_text(load_training_data(examples))
    assert text.startswith("2 categories, 26 photos: blue (12), red (12). 2 photos in “uncertain”")
    assert "several folders" in text


def test_a_photo_that_cannot_be_read_is_named_in_the_result(qtbot, window, tmp_path) -> None:
    examples = make_training_folder(tmp_path / "examples")
    (examples / "red" / "broken.png").write_bytes(b"not a picture")
    dialog = _open_dialog(qtbot, window)
    _drop_examples(qtbot, dialog, examples)
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.use_button.isVisible(), timeout=TRAIN_TIMEOUT_MS)
    assert "1 photo could not be read and was left out: broken.png." in dialog.summary.text()
    assert "from 24 photos" in dialog.summary.text()


def test_another_folder_after_a_result_starts_over_and_keeps_the_model(
    qtbot, window, tmp_path
) -> None:
    dialog = _open_dialog(qtbot, window)
    _drop_examples(qtbot, dialog, make_training_folder(tmp_path / "first"))
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.use_button.isVisible(), timeout=TRAIN_TIMEOUT_MS)
    _drop_examples(qtbot, dialog, make_training_folder(tmp_path / "second"))
    assert dialog.train_button.isVisible() and dialog.train_button.isEnabled()
    assert not dialog.use_button.isVisible() and not dialog.table.isVisible()
    assert dialog.found.isVisible() and "24 photos" in dialog.found.text()
    assert [v.name for v in list_versions(include_default=False)] == ["v1"]  # still stored


def test_a_training_that_fails_says_why_and_stores_nothing(qtbot, window, tmp_path) -> None:
    examples = make_training_folder(tmp_path / "examples")
    dialog = _open_dialog(qtbot, window)
    _drop_examples(qtbot, dialog, examples)
    for photo in examples.rglob("*.png"):  # spoilt between reading the folder and Train
        photo.write_bytes(b"not a picture any more")
    qtbot.mouseClick(dialog.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.job is None, timeout=TRAIN_TIMEOUT_MS)
    _shot(dialog, "train-6-failed")
    assert dialog.found.text().startswith("<b>Training stopped; no model was saved.</b>")
    assert dialog.isVisible() and dialog.close_button.text() == "Close"
    assert dialog.choose_button.isEnabled() and not dialog.press_train.isVisible()
    assert list_versions(include_default=False) == []


def test_a_model_is_named_with_its_examples_folder_from_either_system(tmp_path) -> None:
    from types import SimpleNamespace

    from sorter.gui.model_loading import model_name

    def named(data_path):
        training = {"data_path": data_path} if data_path else {}
        return model_name(
            SimpleNamespace(path=tmp_path / "shop.pth", meta=SimpleNamespace(training=training))
        )

    assert named("C:\\Users\\Ann\\Pictures\\Shop examples") == "shop.pth (Shop examples)"
    assert named("/home/ann/Garden photos/") == "shop.pth (Garden photos)"
    assert named(None) == "shop.pth"  # the built-in model and imports were not trained here


def test_an_examples_folder_is_made_from_typed_names_then_read_again_once_filled(
    qtbot, window, tmp_path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

    pictures = tmp_path / "Pictures"
    shown = []
    monkeypatch.setattr("sorter.appdirs.pictures_dir", lambda: pictures)
    monkeypatch.setattr("sorter.gui.train_dialog.show_in_file_manager", shown.append)
    dialog = _open_dialog(qtbot, window)

    def make(text: str) -> None:
        qtbot.mouseClick(dialog.make_button, Qt.MouseButton.LeftButton)
        ask = dialog.make_dialog
        assert ask.isVisible()
        qtbot.keyClicks(ask.findChild(QLineEdit), text)
        _shot(ask, "train-7-make")
        ok = ask.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    make("chairs")
    qtbot.waitUntil(lambda: "No folder was made" in dialog.found.text(), timeout=30_000)
    assert "at least two categories" in dialog.found.text() and not pictures.exists()

    make("Chairs, office desks; chairs")
    qtbot.waitUntil(lambda: "Made <b>Sorter examples</b>" in dialog.found.text(), timeout=30_000)
    made = pictures / "Sorter examples"
    assert sorted(p.name for p in made.iterdir()) == ["Chairs", "office desks"]
    assert shown == [made] and dialog.folder == made
    assert "folder for each category: Chairs, office desks." in dialog.found.text()
    assert dialog.reread_button.isVisible() and not dialog.train_button.isEnabled()
    _shot(dialog, "train-8-made")

    for i in range(6):  # the user fills the folders, then reads it again
        noisy_image(made / "Chairs" / f"c{i}.png", (150, 90, 40), 700 + i)
        noisy_image(made / "office desks" / f"d{i}.png", (60, 60, 70), 800 + i)
    qtbot.mouseClick(dialog.reread_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.data is not None, timeout=30_000)
    assert "2 categories, 12 photos: Chairs (6), office desks (6)." in dialog.found.text()
    assert dialog.train_button.isEnabled() and dialog.title.text() == "Sorter examples"
