"""*Help > About Sorter*: version, where things live, the log folder and the licences."""

from __future__ import annotations

import os

from sorter import __version__, appdirs


def _menu_action(window, menu_title: str, text: str):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == menu_title)
    return next(a for a in menu.actions() if a.text() == text)


def test_about_names_the_version_the_places_and_opens_the_log_folder(
    qtbot, window, monkeypatch
) -> None:
    opened = []
    monkeypatch.setattr("sorter.gui.about.open_folder", opened.append)
    _menu_action(window, "&Help", "&About Sorter...").trigger()
    dialog = window.about_dialog
    assert dialog.isVisible()
    text = dialog.text.text()
    assert f"Sorter {__version__}" in text and "never changes a photo" in text
    for folder in (appdirs.config_dir(), appdirs.data_dir(), appdirs.log_dir()):
        assert str(folder) in text
    if os.environ.get("SORTER_SHOTS"):
        dialog.grab().save(os.path.join(os.environ["SORTER_SHOTS"], "about.png"))
    dialog.log_button.click()
    assert opened == [appdirs.log_dir()]


def test_the_licences_hold_sorters_own_and_every_shipped_text(qtbot, window) -> None:
    _menu_action(window, "&Help", "&About Sorter...").trigger()
    licences = window.about_dialog.show_licences()
    text = licences.text.toPlainText()
    assert "==== LICENSE ====\n\nMIT License" in text
    for needle in ("BSD 3-Clause", "Apache", "CC BY 4.0", "THIRD_PARTY_LICENSES.md"):
        assert needle in text
    assert "missing from this installation" not in text
