"""The window says once per session when the copies would go into OneDrive."""

from __future__ import annotations

from fakes import make_photos
from gui_helpers import drop_paths


def scan(qtbot, window, folder) -> None:
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "PreviewPage"
    ):
        drop_paths(window.home.drop_area, [folder])


def test_output_under_onedrive_is_noticed_once(qtbot, window, tmp_path, monkeypatch):
    cloud = tmp_path / "Ana" / "OneDrive"
    monkeypatch.setenv("OneDrive", str(cloud))
    scan(qtbot, window, make_photos(cloud / "Holiday", 3))  # output: OneDrive/Holiday (sorted)
    message = window.statusBar().currentMessage()
    assert message.startswith("The copies go into OneDrive") and str(cloud) in message
    window.statusBar().clearMessage()
    window.go_home()
    scan(qtbot, window, make_photos(cloud / "Party", 3))
    assert window.statusBar().currentMessage() == ""  # once is enough


def test_output_elsewhere_says_nothing(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("OneDrive", str(tmp_path / "OneDrive"))
    scan(qtbot, window, make_photos(tmp_path / "Photos", 3))
    assert "OneDrive" not in window.statusBar().currentMessage()
