"""No dead ends: a failed model load, drops on any page, unreadable folders, Recent, wording."""

from __future__ import annotations

from pathlib import Path

from fakes import make_photos, make_tiny_model
from gui_helpers import drop_paths, slow_scoring
from PySide6.QtCore import Qt

from sorter.core.settings import Settings, load_settings

LEFT = Qt.MouseButton.LeftButton


def _is(name: str):
    return lambda page: page == name


def test_a_failed_model_load_returns_to_the_start_page_with_the_reason(qtbot, tmp_path, photos):
    from sorter.gui.main_window import MainWindow

    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"this is not a model")
    win = MainWindow(settings=Settings(), model_path=str(bad))
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model_failed, timeout=60_000):
        win.start_loading_model()
        assert drop_paths(win.home.drop_area, [photos])  # queued behind the loading model
        assert win.stack.currentWidget() is win.progress_page
    assert win.stack.currentWidget() is win.home  # no endless busy bar
    assert win.progress_page.bar.maximum() == 1
    assert "broken.pth" in win.statusBar().currentMessage()
    assert win.last_error.isVisible()
    win.last_error.close()
    assert drop_paths(win.home.drop_area, [photos])  # no model to wait for: says so
    assert win.stack.currentWidget() is win.home
    assert "No model is loaded" in win.statusBar().currentMessage()
    assert win.settings.recent_folders == []
    # File > Open model... with a good file: used, and kept among the user's models
    (tmp_path / "Downloads").mkdir()
    good = make_tiny_model(tmp_path / "Downloads" / "good.pth")
    with qtbot.waitSignal(win.model_ready, timeout=60_000):
        win.use_model_file(str(good))
    kept = "Now using model v1 (good), a copy kept among your models."
    qtbot.waitUntil(lambda: win.statusBar().currentMessage() == kept, timeout=30_000)
    assert load_settings().model_path == win.model_path != str(good)
    win.close()


def test_a_drop_on_the_preview_starts_the_new_folder(qtbot, window, photos, tmp_path):
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        drop_paths(window.home.drop_area, [photos])
    other = make_photos(tmp_path / "Other", 3)
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        assert drop_paths(window.preview.header, [other])
    assert window.result.src == other


def test_a_drop_while_copying_says_finish_or_cancel_first(qtbot, window, photos, tmp_path):
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        drop_paths(window.home.drop_area, [photos])
    qtbot.mouseClick(window.preview.copy_button, LEFT)
    assert window.copy_job is not None
    assert drop_paths(window.progress_page.title, [tmp_path])
    assert window.statusBar().currentMessage() == "Finish or cancel the current job first."
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.summary, timeout=60_000)
    other = make_photos(tmp_path / "Other", 2)
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        assert drop_paths(window.summary.detail, [other])


def test_a_folder_of_unreadable_files_says_why_and_writes_nothing(qtbot, window, tmp_path):
    bad = tmp_path / "Scans"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"not a jpeg")
    (bad / "b.png").write_bytes(b"not a png")
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("HomePage")):
        drop_paths(window.home.drop_area, [bad])
    message = window.last_error.message_label.text()
    assert message.startswith("None of the 2 images in “Scans” could be read")
    assert "a.jpg, b.png: not an image Sorter can read" in message
    assert not (tmp_path / "Scans (sorted)").exists()
    assert window.settings.recent_folders == []


def test_an_empty_folder_is_not_added_to_recent(qtbot, window, tmp_path, photos):
    empty = tmp_path / "Empty"
    empty.mkdir()
    with qtbot.waitSignal(window.page_changed, timeout=30_000, check_params_cb=_is("HomePage")):
        drop_paths(window.home.drop_area, [empty])
    assert window.settings.recent_folders == []
    window.last_error.close()
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        drop_paths(window.home.drop_area, [photos])
    assert window.settings.recent_folders == [str(photos)]


def test_one_image_is_one_image(qtbot, window, tmp_path):
    one = make_photos(tmp_path / "One", 1)
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        drop_paths(window.home.drop_area, [one])
    assert "<b>1 image</b> found" in window.preview.header.text()
    assert window.preview.copy_button.text().startswith("Copy 1 image into")


def test_no_stale_cancelled_message_on_a_successful_summary(qtbot, window, tmp_path, monkeypatch):
    photos = make_photos(tmp_path / "Many", 30)
    real_scores = slow_scoring(window, monkeypatch)
    drop_paths(window.home.drop_area, [photos])
    with qtbot.waitSignal(window.page_changed, timeout=30_000, check_params_cb=_is("HomePage")):
        qtbot.mouseClick(window.progress_page.cancel_button, LEFT)
    assert "cancelled" in window.statusBar().currentMessage()
    monkeypatch.setattr(window.model, "scores", real_scores)
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        drop_paths(window.home.drop_area, [photos])
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("SummaryPage")):
        qtbot.mouseClick(window.preview.copy_button, LEFT)
    assert "cancelled" not in window.statusBar().currentMessage()


def test_picking_a_file_that_is_no_model_keeps_the_model_that_worked(
    qtbot, window, photos, tmp_path
):
    """File > Open model with a wrong file: the error names it, the window goes on with the
    model it had (the settings too), and a dropped folder still sorts."""
    import os

    before = window.model
    saved = window.settings.model_path
    junk = tmp_path / "holiday notes.pth"
    junk.write_bytes(b"not a model at all")
    with qtbot.waitSignal(window.model_failed, timeout=60_000):
        window.use_model_file(str(junk))
    assert window.model is before
    assert window.model_label.text().startswith("Model: tiny")
    assert window.statusBar().currentMessage() == (
        "Still using model tiny.pth: the file you picked did not load."
    )
    message = window.last_error.message_label.text()
    assert "holiday notes.pth is not a Sorter model" in message
    assert message.endswith("Sorter goes on with the model it had, tiny.pth.")
    assert window.settings.model_path == saved
    if os.environ.get("SORTER_SHOTS"):
        window.grab().save(os.path.join(os.environ["SORTER_SHOTS"], "kept-model.png"))
        window.last_error.grab().save(os.path.join(os.environ["SORTER_SHOTS"], "kept-error.png"))
    window.last_error.close()
    with qtbot.waitSignal(window.page_changed, timeout=60_000, check_params_cb=_is("PreviewPage")):
        assert drop_paths(window.home.drop_area, [photos])

    other = tmp_path / "other.pth"
    other.write_bytes(Path(window.model.path).read_bytes())
    with qtbot.waitSignal(window.model_ready, timeout=60_000):
        window.use_model_file(str(other))
    # a picked file is kept among the user's models, so the model outlives the file
    kept = "Now using model v1 (other), a copy kept among your models."
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == kept, timeout=30_000)
    from sorter.core.learning.versions import current_version_name, list_versions

    copy = list_versions(include_default=False)[0]
    assert (copy.name, copy.title) == ("v1", "other")
    assert window.settings.model_path == str(copy.path) == window.model_path
    assert load_settings().model_path == str(copy.path) and current_version_name() == "v1"
    assert window.model_label.text().startswith("Model: v1 (other)")
    again = tmp_path / "again.pth"
    again.write_bytes(other.read_bytes())
    other.unlink()  # the file the user picked is gone; the model is not
    with qtbot.waitSignal(window.model_ready, timeout=60_000):
        window.start_loading_model()  # as the next start of Sorter does
    assert window.model_label.text().startswith("Model: v1 (other)")
    # the same model picked again, under another name: no second copy
    with qtbot.waitSignal(window.model_ready, timeout=60_000):
        window.use_model_file(str(again))
    same = "Now using model v1 (other), one of your models already."
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == same, timeout=30_000)
    assert [v.name for v in list_versions(include_default=False)] == ["v1"]
    assert window.settings.model_path == str(copy.path)
