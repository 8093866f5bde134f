"""Retraining from the window: in the background with status-bar progress and Cancel, what it
can learn, the before/after table with "use anyway" / "keep", and the Model menu's versions."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from fakes import refused_retrain
from gui_helpers import drop_paths
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTableWidget

from sorter.core.jobs import Progress
from sorter.core.learning import retrain as core_retrain
from sorter.core.learning.queue import CorrectionQueue
from sorter.core.settings import load_settings

CLICK = Qt.MouseButton.LeftButton


def queue_corrections(photos, labels) -> list[int]:
    queue = CorrectionQueue()
    paths = sorted(photos.glob("*.png"))[: len(labels)]
    return [queue.add(path, [label]).id for path, label in zip(paths, labels, strict=True)]


def start_from_dialog(qtbot, window):
    window.refresh_queue()
    qtbot.mouseClick(window.retrain_button, CLICK)
    dialog = window.queue_dialog
    qtbot.mouseClick(dialog.retrain_button, CLICK)
    return dialog


@pytest.fixture
def slow_retrain(monkeypatch):
    """A retrain that reports progress until cancelled or released (`release.set()`), then
    returns `result[0]`."""
    release, result = threading.Event(), [None]

    def fake(model_path, mode, *, device, progress, cancel):
        for step in range(100_000):
            progress(Progress("Learning", step % 50, 50, "steps", eta_s=30))
            cancel.raise_if_cancelled()
            if release.is_set():
                return result[0]
            time.sleep(0.01)

    monkeypatch.setattr(core_retrain, "retrain", fake)
    return release, result


def test_retrain_runs_in_background_while_sorting_and_cancels(
    qtbot, window, photos, tiny_model, slow_retrain
):
    queue_corrections(photos, ["cats"])
    dialog = start_from_dialog(qtbot, window)
    assert not dialog.isVisible()  # starting frees the window
    status = window.retrain_status
    assert status.isVisible() and status.cancel_button.isVisible()
    qtbot.waitUntil(lambda: "Learning" in status.label.text(), timeout=10_000)
    assert "of 50 steps" in status.label.text() and status.bar.maximum() == 50
    with qtbot.waitSignal(  # the window sorts while the retrain runs
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "PreviewPage"
    ):
        drop_paths(window.home.drop_area, [photos])
    assert window.retrain_job is not None and status.isVisible()
    qtbot.mouseClick(status.cancel_button, CLICK)
    qtbot.waitUntil(lambda: not status.isVisible(), timeout=10_000)
    assert window.retrain_job is None
    assert "Retraining cancelled" in window.statusBar().currentMessage()
    assert load_settings().model_path is None  # nothing was promoted


def test_closing_the_queue_dialog_does_not_cancel(qtbot, window, photos, tiny_model, slow_retrain):
    release, result = slow_retrain
    ids = queue_corrections(photos, ["cats", "dogs"])
    result[0] = refused_retrain(tiny_model, ids, "the new model is worse on held-out corrections")
    start_from_dialog(qtbot, window)
    qtbot.mouseClick(window.retrain_button, CLICK)  # open the queue again while it runs...
    dialog = window.queue_dialog
    assert not dialog.retrain_button.isEnabled() and "running" in dialog.status.text()
    dialog.reject()  # ...and close it
    time.sleep(0.2)
    assert window.retrain_job is not None and not window.retrain_job.cancel_token.cancelled
    with qtbot.waitSignal(window.retrain_done, timeout=10_000):
        release.set()


def label_texts(widget) -> str:
    return "\n".join(label.text() for label in widget.findChildren(QLabel))


def test_queue_dialog_says_what_the_retrain_can_learn(qtbot, window, photos):
    queue_corrections(photos, ["cats", "foxes", "cats"])
    qtbot.mouseClick(window.retrain_button, CLICK)
    text = label_texts(window.queue_dialog)
    assert "learn from 3 corrections: cats (2) and foxes (1, a new category)." in text
    assert "earlier sorts" in text and "count as examples" in text
    window.queue_dialog.reject()


def refused_dialog(qtbot, window, photos, tiny_model, monkeypatch):
    ids = queue_corrections(photos, ["cats", "dogs", "cars", "cats"])
    reason = "the new model would forget 1 category (cars); correct some images of them"
    monkeypatch.setattr(
        core_retrain, "retrain", lambda *a, **k: refused_retrain(tiny_model, ids, reason)
    )
    with qtbot.waitSignal(window.retrain_done, timeout=10_000):
        start_from_dialog(qtbot, window)
    return window.retrain_result_dialog


def test_refused_result_shows_table_reason_and_use_anyway(
    qtbot, window, photos, tiny_model, monkeypatch
):
    dialog = refused_dialog(qtbot, window, photos, tiny_model, monkeypatch)
    assert dialog.isVisible()
    table = dialog.findChild(QTableWidget)
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Evaluated on", "images", "current model", "new model"]
    rows = [[table.item(r, c).text() for c in range(4)] for r in range(table.rowCount())]
    assert rows[0][:2] == ["Held-out corrections (cross-validated)", "4"]
    assert ["    in exactly their right folders", "", "2", "1"] in rows
    headline = dialog.headline.text()
    assert "forget 1 category (cars)" in headline and "--yes" not in headline
    assert dialog.use_button.text() == "Use the new model anyway"
    assert dialog.keep_button.text() == "Keep the current model"
    assert dialog.use_button.isVisible() and dialog.keep_button.isVisible()
    qtbot.mouseClick(dialog.use_button, CLICK)
    qtbot.waitUntil(lambda: window.model_label.text().startswith("Model: v1"), timeout=30_000)
    assert not dialog.isVisible()
    assert load_settings().model_path.endswith("model.pth") and "v1" in load_settings().model_path
    assert window.queue_label.text() == "0 corrections waiting"  # learned: marked used


def test_keep_the_current_model(qtbot, window, photos, tiny_model, monkeypatch):
    dialog = refused_dialog(qtbot, window, photos, tiny_model, monkeypatch)
    qtbot.mouseClick(dialog.keep_button, CLICK)
    assert not dialog.isVisible()
    assert window.statusBar().currentMessage() == "Kept the current model (tiny.pth)."
    assert load_settings().model_path is None and window.model_path == str(tiny_model)
    assert window.queue_label.text() == "4 corrections waiting"


def test_real_quick_retrain_ends_with_a_new_model_in_use(qtbot, window, photos):
    queue = CorrectionQueue()
    for i, path in enumerate(sorted(photos.iterdir())):
        queue.add(path, [("cats", "dogs", "cars")[i % 3]])
    with qtbot.waitSignal(window.retrain_done, timeout=120_000) as done:
        start_from_dialog(qtbot, window)
    result, dialog = done.args[0], window.retrain_result_dialog
    assert dialog.table.rowCount() >= 4 and dialog.table.cell(0, 1).isdigit()
    if not result.promoted:
        qtbot.mouseClick(dialog.use_button, CLICK)
    qtbot.waitUntil(lambda: window.model_label.text().startswith("Model: v1"), timeout=60_000)
    assert "v1" in load_settings().model_path


def menu_entries(qtbot, window) -> dict[str, bool]:
    menu = window.versions_menu
    menu.aboutToShow.emit()
    return {
        a.text().split(" ")[0]: a.isChecked()
        for a in menu.actions()
        if a.property("model_version") is not None
    }


def test_model_menu_lists_versions_and_switches_back(qtbot, window, tiny_model):
    from sorter.core.learning.versions import add_version, read_model

    meta, state_dict = read_model(tiny_model)
    for note in ("first", "second"):
        add_version(meta, state_dict, note=note)
    assert menu_entries(qtbot, window) == {"default": False, "v1": False, "v2": False}
    for name in ("v2", "v1"):
        action = next(
            a for a in window.versions_menu.actions() if a.property("model_version") == name
        )
        action.trigger()
        qtbot.waitUntil(lambda n=name: window.model_label.text().startswith(f"Model: {n}"))
        assert load_settings().model_path.endswith(f"{name}/model.pth")
        assert menu_entries(qtbot, window)[name] is True


def test_the_model_in_use_can_be_renamed_from_the_model_menu(qtbot, window, tiny_model):
    from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

    from sorter.core.learning.versions import add_version, get_version, read_model

    meta, state_dict = read_model(tiny_model)
    add_version(meta, state_dict, note="first")
    menu_entries(qtbot, window)
    assert not window.rename_action.isEnabled()  # the built-in model keeps its name
    next(a for a in window.versions_menu.actions() if a.property("model_version") == "v1").trigger()
    qtbot.waitUntil(lambda: window.model_label.text().startswith("Model: v1  ·"), timeout=30_000)
    menu_entries(qtbot, window)
    assert window.rename_action.isEnabled()

    def rename(text: str, shown: str) -> None:
        window.rename_action.trigger()
        dialog = window.rename_dialog
        assert dialog.isVisible() and dialog.labelText().startswith("Name of model v1 ")
        field = dialog.findChild(QLineEdit)
        field.selectAll()
        if text:
            qtbot.keyClicks(field, text)
        else:
            qtbot.keyClick(field, Qt.Key.Key_Delete)
        if os.environ.get("SORTER_SHOTS"):
            window.grab().save(os.path.join(os.environ["SORTER_SHOTS"], f"rename-{text}.png"))
            dialog.grab().save(os.path.join(os.environ["SORTER_SHOTS"], f"rename-d-{text}.png"))
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, CLICK)
        qtbot.waitUntil(lambda: window.model_label.text().startswith(f"Model: {shown}  ·"))

    rename("Tiny tests", "v1 (Tiny tests)")
    assert get_version("v1").title == "Tiny tests"
    assert window.statusBar().currentMessage() == "Model v1 is now called “Tiny tests”."
    assert window.home.drop_area.categories.text().startswith("Model v1 (Tiny tests) knows")
    window.versions_menu.aboutToShow.emit()
    texts = [a.text() for a in window.versions_menu.actions() if a.property("model_version")]
    assert "v1  ·  Tiny tests  ·  " in texts[1]
    rename("", "v1")
    assert get_version("v1").title == ""


def test_a_model_put_in_use_during_a_scan_does_not_break_its_preview(
    qtbot, window, photos, tiny_model
):
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "PreviewPage"
    ):
        drop_paths(window.home.drop_area, [photos])
        window.use_model_version(str(tiny_model), "tiny.pth")  # a retrain finished meanwhile
    qtbot.waitUntil(lambda: window.model is not None, timeout=30_000)
    assert window.last_error is None and window.current_thresholds is not None


def page_is(name: str):
    return lambda page: page == name


def sort_by_drop(qtbot, window, photos) -> Path:
    """Drop the folder, copy from the preview: the sorted folder a retrain can sort again."""
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=page_is("PreviewPage")
    ):
        assert drop_paths(window.home.drop_area, [photos])
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=page_is("SummaryPage")
    ):
        qtbot.mouseClick(window.preview.copy_button, CLICK)
    return window.result.out


def test_after_a_promotion_the_last_sorted_folder_can_be_sorted_again(
    qtbot, window, photos, tiny_model, monkeypatch, tmp_path
):
    """The loop closes in the window: sort, retrain, then "Sort ... again" shows what the new
    model changes in that folder (the update preview), with nothing moved before Update."""
    import dataclasses
    import os

    from fakes import tree_hashes

    out = sort_by_drop(qtbot, window, photos)
    before = tree_hashes(out)
    promoted = dataclasses.replace(
        refused_retrain(tiny_model, [], "better on held-out corrections"),
        promoted=True, version="v1",
    )  # fmt: skip
    monkeypatch.setattr(core_retrain, "retrain", lambda *a, **k: promoted)
    queue_corrections(photos, ["cats"])
    with qtbot.waitSignal(window.retrain_done, timeout=60_000):
        start_from_dialog(qtbot, window)
    dialog = window.retrain_result_dialog
    button = dialog.sort_again_button
    assert button is not None and button.text() == f"Sort “{out.name}” again"
    if os.environ.get("SORTER_SHOTS"):
        dialog.grab().save(os.path.join(os.environ["SORTER_SHOTS"], "sort-again.png"))
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=page_is("PreviewPage")
    ):
        qtbot.mouseClick(button, CLICK)
    assert not dialog.isVisible()
    assert window.result.out == out
    assert "were sorted into this folder before" in window.preview.update_label.text()
    assert tree_hashes(out) == before  # the preview first: nothing moved yet


def test_a_refused_retrain_offers_sort_again_once_the_new_model_is_used_anyway(
    qtbot, window, photos, tiny_model, monkeypatch
):
    out = sort_by_drop(qtbot, window, photos)
    dialog = refused_dialog(qtbot, window, photos, tiny_model, monkeypatch)
    assert dialog.sort_again_button is None  # the current model stays: nothing new to sort with
    qtbot.mouseClick(dialog.use_button, CLICK)
    qtbot.waitUntil(lambda: window.model_label.text().startswith("Model: v1"), timeout=30_000)
    assert dialog.isVisible()
    assert dialog.headline.text().startswith("<b>The new model is in use as v1.</b>")
    assert dialog.use_button is None and dialog.sort_again_button is not None
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=page_is("PreviewPage")
    ):
        qtbot.mouseClick(dialog.sort_again_button, CLICK)
    assert window.result.out == out and not dialog.isVisible()


def test_the_retrain_result_names_a_named_model(qtbot, tiny_model):
    from types import SimpleNamespace

    from sorter.core.learning.versions import add_version, read_model
    from sorter.gui.retrain_result import RetrainResultDialog

    meta, state_dict = read_model(tiny_model)
    named = add_version(meta, state_dict, title="Shop <stock>")
    promoted = SimpleNamespace(
        promoted=True, version="v1", current_model=named.path,
        candidate=SimpleNamespace(reason="better on held-out corrections"),
    )  # fmt: skip
    assert RetrainResultDialog._headline_text(promoted).startswith(
        "<b>The new model is in use as v1 (Shop &lt;stock&gt;).</b>"
    )
    promoted.current_model = tiny_model  # a model file of the user's: no name to add
    assert "in use as v1.</b>" in RetrainResultDialog._headline_text(promoted)


def test_the_model_menu_lists_the_newest_ten_and_the_one_in_use(qtbot, window, tiny_model):
    from sorter.core.learning.versions import add_version, read_model, use_version

    meta, state_dict = read_model(tiny_model)
    for _ in range(12):
        add_version(meta, state_dict)
    window.model_path = str(use_version("v1").path)
    window.versions_menu.aboutToShow.emit()
    entries = [a for a in window.versions_menu.actions() if a.property("model_version") is not None]
    names = [a.property("model_version") for a in entries]
    assert names == ["default", "v1", *[f"v{n}" for n in range(3, 13)], ""]
    assert entries[1].isChecked()
    assert entries[-1].text() == "1 older model: Model > Manage models..."
    assert not entries[-1].isEnabled()
