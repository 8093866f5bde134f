"""One walkthrough on the real sample photos with the embedded default model, by real clicks and
keys: drop -> preview -> edit the threshold -> copy -> review -> correct -> retrain -> undo."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
from fakes import tree_hashes
from gui_helpers import drop_paths, open_main_window
from PySide6.QtCore import Qt

from sorter import appdirs
from sorter.core.learning.queue import CorrectionQueue
from sorter.core.model.decide import UNCERTAIN
from sorter.core.model.modelfile import current_model_path
from sorter.core.settings import load_settings

pytestmark = pytest.mark.slow
CLICK = Qt.MouseButton.LeftButton
PHOTOS = 14  # the real photos in assets/samples
LANDSCAPE = "landscape"  # one of the default model's 15 categories


def _is(name: str):
    return lambda page: page == name


def shot(widget, folder: Path, name: str) -> None:
    """A screenshot of this step, for a person to look at when the test fails."""
    folder.mkdir(exist_ok=True)
    assert widget.grab().save(str(folder / f"{name}.png"))


def tile_counts(window) -> dict[str, int]:
    """The preview's tiles as the user reads them: name -> the number in "N images"."""
    counts = {}
    for name, tile in window.preview.tiles.items():
        assert tile.count_label.text() == f"{tile.count} image{'s' if tile.count != 1 else ''}"
        counts[name] = tile.count
    return counts


def summary_rows(window) -> dict[str, int]:
    """The summary's folder rows as shown: "<b>name</b>", then "N images"."""
    grid, rows = window.summary._grid, {}
    for row in range(grid.rowCount()):  # a grid keeps its row count: emptied rows read None
        name, count = (grid.itemAtPosition(row, column) for column in (0, 1))
        if name is not None:
            shown = html.unescape(name.widget().text().removeprefix("<b>").removesuffix("</b>"))
            rows[shown] = int(count.widget().text().split()[0])
    return rows


def images_in(out: Path) -> dict[str, int]:
    """Image files per folder of OUT on disk (the report and the journal left out)."""
    found: dict[str, int] = {}
    for path in out.rglob("*.jpg"):
        if ".sorter" not in path.relative_to(out).parts:
            found[path.parent.name] = found.get(path.parent.name, 0) + 1
    return found


def folder_box_texts(page) -> list[str]:
    return [page.folder_box.itemText(i) for i in range(page.folder_box.count())]


def drop_and_preview(qtbot, window, photos: Path, shots: Path) -> None:
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        assert drop_paths(window.home.drop_area, [photos])
    assert window.preview.header.text().startswith(f"<b>{PHOTOS} images</b> found in")
    assert sum(tile_counts(window).values()) == PHOTOS  # softmax groups: one folder an image
    shot(window, shots, "2-preview")


def edit_threshold(qtbot, window, shots: Path) -> dict[str, int]:
    """Home then End on the slider: the counts and the labels follow; ends at the top."""
    slider, preview = window.preview.thresholds.slider, window.preview
    slider.setFocus()
    at_default = tile_counts(window)
    qtbot.keyClick(slider, Qt.Key.Key_Home)
    assert window.preview.thresholds.value_label.text() == "0.01"
    assert tile_counts(window)[UNCERTAIN] == 0
    assert preview.uncertain_label.text() == "0 would go to uncertain"
    qtbot.keyClick(slider, Qt.Key.Key_End)
    assert window.preview.thresholds.value_label.text() == "0.99"
    counts = tile_counts(window)
    assert counts[UNCERTAIN] > at_default[UNCERTAIN] > 0
    assert preview.uncertain_label.text() == f"{counts[UNCERTAIN]} would go to uncertain"
    folders = sum(1 for n in counts.values() if n)
    assert preview.copy_button.text() == f"Copy {PHOTOS} images into {folders} folders"
    shot(window, shots, "3-edited")
    return counts


def copy_and_check(qtbot, window, counts: dict[str, int], shots: Path) -> Path:
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("SummaryPage")):
        qtbot.mouseClick(window.preview.copy_button, CLICK)
    shot(window, shots, "4-summary")
    out = window.result.out
    shown = {name: n for name, n in counts.items() if n}
    assert window.summary.title.text() == f"Done: {PHOTOS} copies written into {len(shown)} folders"
    assert summary_rows(window) == shown
    assert images_in(out) == shown  # what the summary says is what is on disk
    assert window.summary.review_button.text() == f"Review uncertain ({shown[UNCERTAIN]})"
    return out


def correct_one(qtbot, window, out: Path, uncertain: int, shots: Path) -> str:
    """Review uncertain, correct its first (least certain) image to "landscape" through the
    dialog; returns the image's name."""
    qtbot.mouseClick(window.summary.review_button, CLICK)
    page = window.review_page
    assert window.stack.currentWidget() is page
    assert page.folder_box.currentText() == f"{UNCERTAIN} ({uncertain})"
    qtbot.keyClick(page.view, Qt.Key.Key_Return)  # nothing pending: the correction dialog
    dialog = window.correction_dialog
    assert dialog.isVisible()
    item = dialog.item
    assert item.path.name == "storm-over-road.jpg"  # the model's top guess: vehicles, 0.26
    box = dialog.checks[LANDSCAPE]
    qtbot.mouseClick(box, CLICK, pos=box.rect().center())
    assert dialog.labels() == [LANDSCAPE]
    shot(dialog, shots, "5-correction-dialog")
    with qtbot.waitSignal(window.corrections_saved, timeout=30_000):
        qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Save), CLICK)
    shot(window, shots, "6-corrected")
    assert f"{UNCERTAIN} ({uncertain - 1})" in folder_box_texts(page)
    assert not (out / UNCERTAIN / item.path.name).exists()
    assert (out / LANDSCAPE / item.path.name).is_file()
    assert window.queue_label.text() == "1 correction waiting"
    assert [(Path(c.source_path).name, c.labels) for c in CorrectionQueue().list()] == [
        (item.path.name, [LANDSCAPE])
    ]
    return item.path.name


def retrain(qtbot, window, shots: Path) -> None:
    """Retrain from the window; use the new model, even where the check refused it."""
    qtbot.mouseClick(window.retrain_button, CLICK)
    dialog = window.queue_dialog
    assert dialog.head.text() == "<b>1 correction waiting</b>"
    shot(dialog, shots, "7-queue")
    with qtbot.waitSignal(window.retrain_done, timeout=120_000) as done:
        qtbot.mouseClick(dialog.retrain_button, CLICK)
    result = window.retrain_result_dialog
    shot(result, shots, "8-retrain-result")
    assert result.table.rowCount() >= 1 and result.table.cell(0, 1).isdigit()
    if done.args[0].promoted:
        assert result.headline.text().startswith("<b>The new model is in use as v1.</b>")
    else:  # refused by the check (one correction is little): the user overrides it
        assert result.use_button.text() == "Use the new model anyway"
        qtbot.mouseClick(result.use_button, CLICK)
    qtbot.waitUntil(lambda: window.model_label.text().startswith("Model: v1"), timeout=60_000)
    assert "v1" in load_settings().model_path
    assert window.queue_label.text() == "0 corrections waiting"


def undo(qtbot, window, out: Path, shots: Path) -> None:
    """Back to the summary, Undo this sort: one copy was edited by the user, so it stays."""
    qtbot.mouseClick(window.review_page.back_button, CLICK)
    assert window.stack.currentWidget() is window.summary
    qtbot.mouseClick(window.summary.undo_button, CLICK)
    qtbot.waitUntil(lambda: window.summary.title.text().startswith("Sort undone"), timeout=30_000)
    shot(window, shots, "9-undone")
    assert window.summary.title.text() == f"Sort undone: {PHOTOS - 1} copies removed"
    assert "1 copy kept because it was changed since the sort" in window.summary.detail.text()
    assert summary_rows(window) == {}
    assert not window.summary.undo_button.isEnabled()


def test_walkthrough_on_the_sample_photos(qtbot, tmp_path):
    photos = tmp_path / "Holiday photos"
    shutil.copytree(appdirs.asset_path("samples"), photos, ignore=shutil.ignore_patterns("*.md"))
    sources, shots = tree_hashes(photos), tmp_path / "screenshots"
    window = open_main_window(qtbot, current_model_path())  # no model chosen: the embedded one
    assert window.model_label.text().startswith("Model: default")
    shot(window, shots, "1-home")
    drop_and_preview(qtbot, window, photos, shots)
    counts = edit_threshold(qtbot, window, shots)
    out = copy_and_check(qtbot, window, counts, shots)
    assert tree_hashes(photos) == sources
    name = correct_one(qtbot, window, out, counts[UNCERTAIN], shots)
    moved = {**counts, UNCERTAIN: counts[UNCERTAIN] - 1, LANDSCAPE: counts[LANDSCAPE] + 1}
    shown = {n: c for n, c in moved.items() if c}
    assert summary_rows(window) == shown == images_in(out)  # the summary follows the correction
    assert window.summary.review_button.text() == f"Review uncertain ({shown[UNCERTAIN]})"
    categories = list(window.model.categories)
    assert len(categories) == 15
    retrain(qtbot, window, shots)
    assert list(window.model.categories) == categories  # nothing forgotten, nothing renamed
    (out / LANDSCAPE / name).write_bytes(b"edited by the user after the correction")
    undo(qtbot, window, out, shots)
    assert images_in(out) == {LANDSCAPE: 1}  # the changed copy is kept, the rest are gone
    assert tree_hashes(photos) == sources  # every source untouched, start to end
    window.close()
