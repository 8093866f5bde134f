"""The main path a user takes: drop a folder, scan, adjust the threshold, copy, see the summary."""

from __future__ import annotations

import json
from pathlib import Path

from gui_helpers import drop_paths
from PySide6.QtCore import QPoint, Qt

from sorter.core.model.decide import UNCERTAIN


def scan_by_drop(qtbot, window, folder: Path) -> None:
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "PreviewPage"
    ):
        drop_paths(window.home.drop_area, [folder])


def test_model_status_names_model_and_device(window):
    assert window.model_label.text().startswith("Model: tiny.pth")
    assert window.model_label.text().endswith("CPU")


def test_drop_scan_preview_shows_every_image(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    tiles = window.preview.tiles
    assert set(tiles) == {"cats", "dogs", "cars", "uncertain", "unreadable"}
    assert window.result.out == photos.with_name("Holiday photos (sorted)")
    assert not window.result.out.exists()  # nothing written before the user says so
    assert sum(t.count for t in tiles.values()) >= 12
    assert "Copy 12 images into" in window.preview.copy_button.text()


def test_slider_redecides_counts_instantly(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    slider = window.preview.thresholds.slider
    slider.setValue(slider.maximum())
    assert window.preview.tiles[UNCERTAIN].count == 12
    assert "12 would go to uncertain" in window.preview.uncertain_label.text()
    slider.setValue(slider.minimum())
    assert window.preview.tiles[UNCERTAIN].count == 0
    assert all(window.preview.tiles[c].count == 12 for c in ("cats", "dogs", "cars"))


def test_own_threshold_for_one_category(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    panel = window.preview.thresholds
    panel.slider.setValue(panel.slider.minimum())
    qtbot.mouseClick(panel.advanced_button, Qt.MouseButton.LeftButton)
    row = panel.rows["dogs"]
    row.own.setChecked(True)
    row.spin.setValue(1.0)
    assert window.preview.tiles["dogs"].count == 0
    assert window.preview.tiles["cats"].count == 12


def test_copy_writes_folders_and_summary(qtbot, window, photos):
    scan_by_drop(qtbot, window, photos)
    slider = window.preview.thresholds.slider
    slider.setValue(slider.maximum())  # everything uncertain: a known outcome for random weights
    before = sorted(p.name for p in photos.iterdir())
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "SummaryPage"
    ):
        qtbot.mouseClick(window.preview.copy_button, Qt.MouseButton.LeftButton)
    out = photos.with_name("Holiday photos (sorted)")
    assert sorted(p.name for p in (out / "uncertain").iterdir()) == before
    assert sorted(p.name for p in photos.iterdir()) == before  # the source is untouched
    assert window.summary.review_button.text() == "Review uncertain (12)"
    assert set(window.summary.folder_buttons) == {"uncertain"}


def test_open_folder_button_asks_the_desktop(qtbot, window, photos, monkeypatch):
    opened = []
    monkeypatch.setattr(
        "sorter.gui.pages.QDesktopServices.openUrl", lambda url: opened.append(url.toLocalFile())
    )
    scan_by_drop(qtbot, window, photos)
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "SummaryPage"
    ):
        qtbot.mouseClick(window.preview.copy_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.summary.open_out_button, Qt.MouseButton.LeftButton)
    assert opened == [str(photos.with_name("Holiday photos (sorted)"))]


def test_skip_preview_copies_straight_away(qtbot, window, photos):
    qtbot.mouseClick(window.home.skip_preview, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
    assert window.settings.skip_preview
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "SummaryPage"
    ):
        drop_paths(window.home.drop_area, [photos])
    assert photos.with_name("Holiday photos (sorted)").is_dir()


def test_choose_folder_button_uses_the_file_dialog(qtbot, window, photos, monkeypatch):
    monkeypatch.setattr(
        "sorter.gui.flow.QFileDialog.getExistingDirectory", lambda *a, **k: str(photos)
    )
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "PreviewPage"
    ):
        qtbot.mouseClick(window.home.drop_area.choose_button, Qt.MouseButton.LeftButton)
    assert window.settings.recent_folders[0] == str(photos)


def test_drop_area_refuses_what_is_not_a_folder_or_image(window, tmp_path):
    note = tmp_path / "notes.txt"
    note.write_text("hello", encoding="utf-8")
    assert drop_paths(window.home.drop_area, [note]) is False
    assert window.stack.currentWidget() is window.home


def test_change_output_folder(qtbot, window, photos, tmp_path, monkeypatch):
    elsewhere = tmp_path / "Elsewhere"
    elsewhere.mkdir()
    scan_by_drop(qtbot, window, photos)
    monkeypatch.setattr(
        "sorter.gui.flow.QFileDialog.getExistingDirectory", lambda *a, **k: str(elsewhere)
    )
    qtbot.mouseClick(window.preview.output_row.change_button, Qt.MouseButton.LeftButton)
    assert window.preview.output_row.label.text() == str(elsewhere)
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "SummaryPage"
    ):
        qtbot.mouseClick(window.preview.copy_button, Qt.MouseButton.LeftButton)
    assert (elsewhere / "sorter-report.csv").is_file()
    assert not photos.with_name("Holiday photos (sorted)").exists()


def test_folder_given_before_the_model_is_ready(qtbot, tiny_model, photos):
    from sorter.core.settings import Settings
    from sorter.gui.main_window import MainWindow

    win = MainWindow(settings=Settings(), model_path=str(tiny_model))
    qtbot.addWidget(win)
    win.open_sources([photos])  # as `sorter-gui FOLDER` does before the model has loaded
    assert win.stack.currentWidget() is win.progress_page
    assert "model" in win.progress_page.title.text()
    with qtbot.waitSignal(
        win.page_changed, timeout=60_000, check_params_cb=lambda n: n == "PreviewPage"
    ):
        win.start_loading_model()
    assert len(win.result.scored) == 12
    win.close()


def test_unreadable_image_gets_its_own_tile_and_is_not_copied(qtbot, window, photos):
    (photos / "broken.jpg").write_bytes(b"not really a jpeg")
    scan_by_drop(qtbot, window, photos)
    tile = window.preview.tiles["unreadable"]
    assert tile.count == 1
    assert tile.thumbs[0].text() == "broken.jpg"
    assert "Copy 12 images into" in window.preview.copy_button.text()


def test_drop_two_folders_and_a_loose_image(qtbot, window, tmp_path):
    from fakes import make_photos

    first = make_photos(tmp_path / "Trip" / "Day 1", 3)
    second = make_photos(tmp_path / "Trip" / "Day 2", 4)
    loose = make_photos(tmp_path / "Trip" / "Extra", 1) / "photo_000.png"
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "PreviewPage"
    ):
        assert drop_paths(window.home.drop_area, [first, second, loose])
    assert len(window.result.scored) == 8
    assert window.result.src == tmp_path / "Trip"
    assert window.result.out == tmp_path / "Trip (sorted)"


def test_drop_area_takes_every_suffix_the_scan_takes(tmp_path):
    from PySide6.QtCore import QUrl

    from sorter.core.files import IMAGE_SUFFIXES
    from sorter.gui.drop_area import usable_paths

    files = [tmp_path / f"photo{suffix}" for suffix in sorted(IMAGE_SUFFIXES)]
    for path in files:
        path.write_bytes(b"not decoded here")
    assert usable_paths([QUrl.fromLocalFile(str(p)) for p in files]) == files
    assert ".heif" in IMAGE_SUFFIXES


def copy_by_click(qtbot, window) -> None:
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "SummaryPage"
    ):
        qtbot.mouseClick(window.preview.copy_button, Qt.MouseButton.LeftButton)


def test_second_window_sort_of_the_same_folder_scores_no_image(qtbot, window, photos, monkeypatch):
    scan_by_drop(qtbot, window, photos)
    copy_by_click(qtbot, window)
    scored = []
    real_scores = window.model.scores

    def counting_scores(batch):
        scored.append(len(batch))
        return real_scores(batch)

    monkeypatch.setattr(window.model, "scores", counting_scores)
    window.go_home()
    scan_by_drop(qtbot, window, photos)
    assert scored == []  # every score came from the output folder's journal
    assert window.result.scores.reused == 12
    assert "12 stay" in window.preview.update_label.text()  # the same sort: nothing moves


def test_cli_sort_after_a_window_sort_reuses_its_scores(qtbot, window, photos, tiny_model, capsys):
    from sorter.cli import main

    scan_by_drop(qtbot, window, photos)
    copy_by_click(qtbot, window)
    out = photos.with_name("Holiday photos (sorted)")
    capsys.readouterr()
    args = ["sort", str(photos), "--out", str(out), "--model", str(tiny_model), "--json"]
    assert main([*args, "--device", "cpu"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scores_reused"] == 12
    assert summary["images"] == 12
