"""Drives, cards and several items: the copies go to Pictures, nothing sticks, one window."""

from __future__ import annotations

import os
from pathlib import Path

from fakes import make_photos, tree_hashes
from gui_helpers import drop_paths
from PySide6.QtCore import Qt

from sorter import appdirs
from sorter.core.errors import BadPathError
from sorter.core.settings import Settings
from sorter.core.sorting import session
from sorter.gui import app


def _reaching(qtbot, window, page: str):
    return qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda name: name == page
    )


def test_a_drive_root_dropped_while_the_model_loads_gets_a_folder_in_pictures(
    qtbot, tiny_model, monkeypatch
):
    # Before: default_out raised in the model-ready slot; the window stayed on
    # "Getting the model ready..." and Cancel did nothing.
    from sorter.gui.main_window import MainWindow

    seen = {}

    def no_scan(model, paths, out, **kwargs):  # the real scan of "/" would read the whole disk
        seen.update(paths=paths, out=out)
        raise BadPathError("No images were found in the folder you chose.")

    monkeypatch.setattr(session, "scan_and_score", no_scan)
    window = MainWindow(settings=Settings(), model_path=str(tiny_model))
    qtbot.addWidget(window)
    window.show()
    window.open_sources([Path("/")])
    assert window.progress_page.title.text() == "Getting the model ready..."
    with _reaching(qtbot, window, "HomePage"):
        window.start_loading_model()
    assert seen == {"paths": [Path("/")], "out": appdirs.pictures_dir() / "Sorted photos"}
    assert window.settings.recent_folders == []  # a drive root is never a recent folder


def test_a_card_is_sorted_into_pictures(qtbot, window, tmp_path, monkeypatch):
    card = make_photos(tmp_path / "EOS_DIGITAL", 6)
    real_ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == card or real_ismount(p))
    before = tree_hashes(card)
    with _reaching(qtbot, window, "PreviewPage"):
        drop_paths(window.home.drop_area, [card])
    out = appdirs.pictures_dir() / "Sorted from EOS_DIGITAL"
    assert window.preview.output_row.label.text() == str(out)
    with _reaching(qtbot, window, "SummaryPage"):
        qtbot.mouseClick(window.preview.copy_button, Qt.MouseButton.LeftButton)
    assert len([f for f in tree_hashes(out) if f != "sorter-report.csv"]) >= 6
    assert tree_hashes(card) == before
    assert not card.with_name("EOS_DIGITAL (sorted)").exists()
    assert window.settings.recent_folders == []


def test_several_paths_on_the_command_line_open_one_window(qtbot, tiny_model, tmp_path):
    a = make_photos(tmp_path / "A", 2)
    b = make_photos(tmp_path / "B", 2)
    c = make_photos(tmp_path / "C", 2)
    window = app.open_window(app.parse_args([str(a), str(b / "photo_001.jpg"), str(c), "--model",
                                             str(tiny_model)]))  # fmt: skip
    qtbot.addWidget(window)
    assert window.pending_sources == [a, b / "photo_001.jpg", c]
    with _reaching(qtbot, window, "PreviewPage"):
        window.start_loading_model()
    assert "Copy 5 images into" in window.preview.copy_button.text()
    beside = tmp_path.with_name(f"{tmp_path.name} (sorted)")  # the folder holding all three
    assert window.preview.output_row.label.text() == str(beside)
