"""Cancel a scan midway; errors read as one sentence with the details a click away."""

from __future__ import annotations

from fakes import make_photos
from gui_helpers import slow_scoring
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from sorter.core.settings import Settings


def test_cancel_scan_midway(qtbot, window, tmp_path, monkeypatch):
    photos = make_photos(tmp_path / "Many", 40)
    slow_scoring(window, monkeypatch)
    reports = []
    window.open_sources([photos])
    window.scan_job.signals.progressed.connect(reports.append)
    qtbot.waitUntil(lambda: bool(reports), timeout=30_000)
    with qtbot.waitSignal(window.page_changed, timeout=30_000):
        qtbot.mouseClick(window.progress_page.cancel_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.home
    assert reports[0].done < reports[0].total == 40
    assert window.result is None
    assert not (tmp_path / "Many (sorted)").exists()
    assert "cancelled" in window.statusBar().currentMessage()


def test_progress_page_shows_rate_and_eta(qtbot, window, photos):
    from sorter.core.jobs import Progress

    window.progress_page.show_progress(Progress("Scoring", 30, 120, "images", 15.0, 6.0))
    text = window.progress_page.detail.text()
    assert "30 of 120 images" in text and "15.0 images/s" in text and "about 6 s left" in text
    assert window.progress_page.bar.value() == 30


def test_bad_model_file_is_one_sentence_with_copyable_details(qtbot, tmp_path):
    from sorter.gui.main_window import MainWindow

    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"this is not a model")
    win = MainWindow(settings=Settings(), model_path=str(bad))
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.model_failed, timeout=60_000):
        win.start_loading_model()
    dialog = win.last_error
    assert dialog.isVisible()
    message = dialog.message_label.text()
    assert "broken.pth" in message and "Traceback" not in message
    assert not dialog.details_view.isVisible()
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert "Traceback" in QApplication.clipboard().text()
    assert "not loaded" in win.model_label.text()


def test_folder_without_images_says_so(qtbot, window, tmp_path):
    empty = tmp_path / "Empty"
    empty.mkdir()
    with qtbot.waitSignal(
        window.page_changed, timeout=30_000, check_params_cb=lambda p: p == "HomePage"
    ):
        window.open_sources([empty])
    assert window.last_error.message_label.text() == "No images were found in the folder you chose."
