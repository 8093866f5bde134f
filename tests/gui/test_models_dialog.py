"""*Model > Manage models...*: the stored models side by side, used, renamed and deleted through
the dialog's own buttons."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLineEdit

from sorter.core.learning.versions import add_version, get_version, list_versions, read_model
from sorter.core.model.modelfile import save_model
from sorter.core.settings import load_settings

CLICK = Qt.MouseButton.LeftButton


def _shot(widget, name: str) -> None:
    if os.environ.get("SORTER_SHOTS"):
        widget.grab().save(os.path.join(os.environ["SORTER_SHOTS"], f"{name}.png"))


def _rows(dialog) -> list[list[str]]:
    table = dialog.table
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def _open(qtbot, window):
    action = next(a for a in window.versions_menu.actions() if a.text() == "&Manage models...")
    action.trigger()
    dialog = window.models_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.table.rowCount() > 0, timeout=30_000)
    return dialog


def _select(qtbot, dialog, name: str) -> None:
    row = next(r for r, v in enumerate(dialog.versions) if v.name == name)
    rect = dialog.table.visualItemRect(dialog.table.item(row, 0))
    qtbot.mouseClick(dialog.table.viewport(), CLICK, pos=rect.center())
    assert dialog.selected().name == name


def test_models_are_listed_used_renamed_copied_and_deleted(
    qtbot, window, tiny_model, tmp_path, monkeypatch
) -> None:
    meta, state_dict = read_model(tiny_model)
    add_version(meta, state_dict, note="trained on 24 example photos in Shop examples")
    add_version(meta, state_dict, note="retrained from v1 with 3 new correction(s)")
    window.versions_menu.aboutToShow.emit()
    next(a for a in window.versions_menu.actions() if a.property("model_version") == "v1").trigger()
    qtbot.waitUntil(lambda: window.model_label.text().startswith("Model: v1"), timeout=30_000)

    dialog = _open(qtbot, window)
    _shot(dialog, "models-1-list")
    rows = _rows(dialog)
    assert [r[0] for r in rows] == ["default", "v1  (in use)", "v2"]
    assert rows[0][1:4] == ["Built-in", "-", "comes with Sorter"]
    assert rows[1][3] == "trained on 24 example photos in Shop examples"
    assert rows[2][6].endswith(("KB", "MB")) and rows[2][5] == str(len(meta.categories))
    assert dialog.table.item(1, 0).font().bold() and not dialog.table.item(2, 0).font().bold()
    assert dialog.status.text().startswith("2 models of your own, ")
    assert dialog.selected().name == "v1"  # the model in use, selected to start with

    _select(qtbot, dialog, "v1")  # in use: it can be renamed, not deleted or used again
    assert dialog.rename_button.isEnabled()
    assert not dialog.delete_button.isEnabled() and not dialog.use_button.isEnabled()
    _select(qtbot, dialog, "default")
    assert dialog.use_button.isEnabled() and not dialog.rename_button.isEnabled()
    assert not dialog.delete_button.isEnabled()

    _select(qtbot, dialog, "v2")
    qtbot.mouseClick(dialog.delete_button, CLICK)
    box = dialog.confirm
    assert box.isVisible() and box.text().startswith("Delete model v2? It frees ")
    _shot(box, "models-2-delete")
    delete = next(b for b in box.buttons() if b.text() == "Delete")
    qtbot.mouseClick(delete, CLICK)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=30_000)
    assert [v.name for v in list_versions(include_default=False)] == ["v1"]
    assert window.statusBar().currentMessage() == "Deleted model v2."

    _select(qtbot, dialog, "v1")
    qtbot.mouseClick(dialog.rename_button, CLICK)
    ask = window.rename_dialog
    assert ask.isVisible() and ask.parent() is dialog
    field = ask.findChild(QLineEdit)
    field.selectAll()
    qtbot.keyClicks(field, "Shop furniture")
    ok = ask.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, CLICK)
    qtbot.waitUntil(lambda: _rows(dialog)[1][1] == "Shop furniture", timeout=30_000)
    assert get_version("v1").title == "Shop furniture"
    assert window.model_label.text().startswith("Model: v1 (Shop furniture)  ·")
    assert dialog.selected().name == "v1"  # the selection survives the refresh
    window.versions_menu.aboutToShow.emit()
    next(a for a in window.versions_menu.actions() if a.property("model_version") == "v1").trigger()
    qtbot.waitUntil(
        lambda: window.statusBar().currentMessage() == "Now using model v1 (Shop furniture).",
        timeout=30_000,
    )
    _shot(dialog, "models-3-renamed")
    saved = tmp_path / "Shop furniture.pth"
    asked = []

    def save_as(parent, caption, start, filters):
        asked.append(start)
        return str(saved), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    qtbot.mouseClick(dialog.copy_button, CLICK)
    qtbot.waitUntil(saved.is_file, timeout=30_000)
    assert asked == [str(Path.home() / "Shop furniture.pth")]
    assert read_model(saved)[0].categories == meta.categories
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Saved a copy"))
    # ... added back, it is found to be v1 already: no second copy
    picked = [saved]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a: (str(picked[0]), a[-1]))
    qtbot.mouseClick(dialog.add_button, CLICK)
    same = "Shop furniture.pth is model v1 already: nothing was added."
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == same, timeout=30_000)
    assert dialog.table.rowCount() == 2
    # a model made on another computer is added: v3, since v2's number stays retired
    theirs, weights = read_model(saved)
    picked[0] = tmp_path / "Office furniture.pth"
    save_model(picked[0], theirs.replace(default_threshold=0.65), weights)
    qtbot.mouseClick(dialog.add_button, CLICK)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 3, timeout=30_000)
    assert _rows(dialog)[2][:2] == ["v3", "Office furniture"]
    assert _rows(dialog)[2][3] == "added from the file Office furniture.pth"
    assert dialog.selected().name == "v3" and dialog.use_button.isEnabled()
    _shot(dialog, "models-4-added")
    _select(qtbot, dialog, "v1")

    _select(qtbot, dialog, "default")
    qtbot.mouseClick(dialog.use_button, CLICK)
    qtbot.waitUntil(lambda: _rows(dialog)[0][0] == "default  (in use)", timeout=30_000)
    qtbot.waitUntil(lambda: window.model_label.text().startswith("Model: default"))
    assert window.statusBar().currentMessage() == "Now using model default."
    assert load_settings().model_path is None
    _select(qtbot, dialog, "v1")
    assert dialog.delete_button.isEnabled()  # no longer in use
