"""The window's self-test proves the Qt-then-torch order where the Windows preload is needed."""

from __future__ import annotations

from pathlib import Path

from sorter import winruntime
from sorter.gui import app


def test_window_self_test_fails_when_the_preload_failed(qtbot, tiny_model, monkeypatch):
    state = winruntime.Preload(needed=True, error="OSError: [WinError 1114] c10.dll")
    monkeypatch.setattr(winruntime, "STATE", state)
    assert app.run_window_self_test(60, model_path=str(tiny_model)) == 1


def test_window_self_test_passes_with_the_preload_and_qt_first(qtbot, tiny_model, monkeypatch):
    monkeypatch.setattr(winruntime, "STATE", winruntime.Preload(needed=True, loaded=Path("c10")))
    monkeypatch.setattr(winruntime, "import_order", lambda: "qt-first")
    assert app.run_window_self_test(60, model_path=str(tiny_model)) == 0
    monkeypatch.setattr(winruntime, "import_order", lambda: "torch-first")  # what pytest has
    assert app.run_window_self_test(60, model_path=str(tiny_model)) == 1
