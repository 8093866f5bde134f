"""Start-up paths: the self-test for the packaged exe, arguments, settings, model menu, queue."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt

from sorter.core.settings import load_settings
from sorter.gui import app


def test_window_module_imports_no_torch():
    # The window must show before torch is imported; importing the GUI must not pull it in.
    import subprocess

    code = (
        "import sys, sorter.gui.app, sorter.gui.main_window; "
        "print(sorted(m for m in ('torch', 'fastai') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_self_test_passes_with_a_good_model(qtbot, tiny_model):
    assert app.run_window_self_test(60, model_path=str(tiny_model)) == 0


def test_self_test_fails_with_a_bad_model(qtbot, tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"nope")
    assert app.run_window_self_test(60, model_path=str(bad)) == 1


def test_arguments():
    args = app.parse_args(["C:/Photos", "--model", "m.pth"])
    assert (args.paths, args.model, args.screenshots, args.self_test) == (
        ["C:/Photos"],
        "m.pth",
        None,
        False,
    )
    assert app.parse_args(["--screenshots", "shots"]).screenshots == "shots"
    # Several items dropped on the exe's icon: Explorer passes each as an argument.
    assert app.parse_args(["D:\\", "E:\\a.jpg", "F:\\b"]).paths == ["D:\\", "E:\\a.jpg", "F:\\b"]


def test_settings_dialog_persists_device_and_preview(qtbot, window, monkeypatch):
    from sorter.gui.settings_dialog import SettingsDialog

    def fake_exec(dialog):
        dialog.device_box.setCurrentIndex(dialog.device_box.findData("cpu"))
        dialog.skip_preview.setChecked(True)
        return True

    monkeypatch.setattr(SettingsDialog, "exec", fake_exec)
    with qtbot.waitSignal(window.model_ready, timeout=60_000):  # device changed: model reloads
        window.open_settings()
    saved = load_settings()
    assert (saved.device, saved.skip_preview) == ("cpu", True)
    assert window.home.skip_preview.isChecked()


def test_settings_names_the_model_its_file_field_holds(qtbot, tiny_model, tmp_path) -> None:
    from sorter.core.learning.versions import add_version, read_model
    from sorter.core.settings import Settings
    from sorter.gui.settings_dialog import SettingsDialog

    meta, state_dict = read_model(tiny_model)
    version = add_version(meta, state_dict, title="Shop stock")
    dialog = SettingsDialog(Settings(model_path=str(version.path)))
    qtbot.addWidget(dialog)
    assert dialog.model_hint.text() == (
        "Model v1 (Shop stock), one of your models: Model > Manage models... lists them all."
    )
    dialog.model_edit.clear()  # as the user empties the field
    assert dialog.model_hint.text() == "The built-in model, the one Sorter comes with."
    qtbot.keyClicks(dialog.model_edit, str(tmp_path / "other.pth"))
    assert dialog.model_hint.text() == ""


def test_a_model_set_in_settings_that_does_not_load_leaves_the_one_that_worked(
    qtbot, window, tmp_path, monkeypatch
):
    from sorter.gui.settings_dialog import SettingsDialog

    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a model")
    before = window.model

    def fake_exec(dialog):
        dialog.model_edit.setText(str(junk))
        return True

    monkeypatch.setattr(SettingsDialog, "exec", fake_exec)
    with qtbot.waitSignal(window.model_failed, timeout=60_000):
        window.open_settings()
    assert window.model is before and window.model_label.text().startswith("Model: tiny")
    assert "junk.pth is not a Sorter model" in window.last_error.message_label.text()
    assert load_settings().model_path is None  # as before: the built-in model, not junk.pth
    window.last_error.close()


def test_import_weights_menu_makes_and_loads_a_model(qtbot, window, tmp_path, monkeypatch):
    import torch
    from fakes import make_tiny_model

    from sorter.core.model.networks import build_network
    from sorter.gui import model_menu

    meta_model = make_tiny_model(tmp_path / "src.pth", categories=("red", "blue"))
    assert meta_model.is_file()
    from sorter.core.model.modelfile import read_model_file

    meta, _ = read_model_file(meta_model)
    weights = tmp_path / "learner_weights.pth"
    torch.save(build_network(meta).state_dict(), weights, pickle_protocol=4)
    out = tmp_path / "imported.pth"
    monkeypatch.setattr(
        model_menu.QFileDialog, "getOpenFileName", lambda *a, **k: (str(weights), "")
    )
    monkeypatch.setattr(model_menu.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))

    def fake_exec(dialog):
        dialog.arch.setCurrentText("resnet18")
        dialog.categories.setText("red, blue")
        return True

    monkeypatch.setattr(model_menu.WeightsDialog, "exec", fake_exec)
    with qtbot.waitSignal(window.model_ready, timeout=60_000):
        model_menu.import_weights_file(window)
    assert out.is_file()
    assert window.model.categories == ["red", "blue"]
    assert load_settings().model_path == str(out)


def test_queue_dialog_lists_corrections(qtbot, window, photos):
    from sorter.core.learning.queue import CorrectionQueue

    CorrectionQueue().add(next(photos.glob("*.png")), ["cats"])
    window.refresh_queue()
    assert window.queue_label.text() == "1 correction waiting"
    qtbot.mouseClick(window.retrain_button, Qt.MouseButton.LeftButton)
    dialog = window.queue_dialog
    assert dialog.list.count() == 1 and "→  cats" in dialog.list.item(0).text()
    assert dialog.retrain_button.isEnabled()
    dialog.reject()


def test_screenshots_of_every_state(qtbot, tiny_model, tmp_path):
    from PySide6.QtGui import QImage

    from sorter.gui.screenshots import take_screenshots

    assert take_screenshots(tmp_path / "shots", model_path=str(tiny_model)) == 0
    names = sorted(p.stem for p in (tmp_path / "shots").glob("*.png"))
    assert names == [
        "1-empty", "2-scanning", "3-preview", "3-preview-dark", "3-preview-move", "4-summary",
        "5-large-view",
        "5-picker", "5-review", "5-review-large", "5-review-small", "6-correction", "7-error",
    ]  # fmt: skip
    for name in names:
        image = QImage(str(tmp_path / "shots" / f"{name}.png"))
        assert image.width() > 100 and image.height() > 50


def test_recent_folders_menu_reopens_a_folder(qtbot, window, photos):
    window.settings.add_recent(photos)
    window.recent_menu.aboutToShow.emit()
    actions = window.recent_menu.actions()
    assert [a.text() for a in actions] == [str(photos)]
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda n: n == "PreviewPage"
    ):
        actions[0].trigger()
    assert len(window.result.scored) == 12
