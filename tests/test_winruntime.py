"""Torch's runtime before Qt's in the frozen Windows GUI (pytorch issues 166628, 169429)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sorter import winruntime


@pytest.fixture
def state(monkeypatch) -> winruntime.Preload:
    fresh = winruntime.Preload()
    monkeypatch.setattr(winruntime, "STATE", fresh)
    return fresh


@pytest.mark.parametrize(
    ("platform", "frozen", "expected"),
    [("win32", True, True), ("win32", False, False), ("linux", True, False)],
)
def test_only_a_frozen_windows_build_needs_the_preload(platform, frozen, expected):
    assert winruntime.needs_preload(platform, frozen) is expected


def test_preload_adds_torch_lib_and_loads_c10_from_the_bundle(state, tmp_path):
    calls = []
    result = winruntime.preload_torch_runtime(
        tmp_path,
        needed=True,
        add_dll_directory=lambda p: calls.append(("dir", p)),
        load=lambda p: calls.append(("load", p)),
    )
    lib = tmp_path / "torch" / "lib"
    assert calls == [("dir", str(tmp_path)), ("dir", str(lib)), ("load", str(lib / "c10.dll"))]
    assert result is state and state.loaded == lib / "c10.dll" and state.error is None
    assert winruntime.runtime_order_problem(state, "qt-first") is None
    assert "preloaded from" in winruntime.describe(state)


def test_a_failed_preload_is_recorded_not_raised(state, tmp_path):
    def fail(path: str) -> None:
        raise OSError(f"[WinError 1114] cannot load {Path(path).name}")

    winruntime.preload_torch_runtime(tmp_path, needed=True, add_dll_directory=str, load=fail)
    assert state.loaded is None and "WinError 1114" in state.error
    assert "c10.dll before Qt failed" in winruntime.runtime_order_problem(state, "qt-first")


def test_nothing_is_loaded_where_it_is_not_needed(state, tmp_path):
    def boom(path: str) -> None:
        raise AssertionError("loaded a DLL off Windows")

    winruntime.preload_torch_runtime(tmp_path, needed=False, add_dll_directory=boom, load=boom)
    assert not state.needed and winruntime.runtime_order_problem(state, "torch-first") is None


def test_import_order_follows_sys_modules_insertion():
    assert winruntime.import_order(["sys", "PySide6.QtCore", "x", "torch"]) == "qt-first"
    assert winruntime.import_order(["torch", "PySide6.QtCore"]) == "torch-first"
    assert winruntime.import_order(["PySide6.QtCore"]) == "one-missing"


def test_the_self_test_must_exercise_qt_before_torch(state):
    state.needed, state.loaded = True, Path("c10.dll")
    assert "import Qt before torch" in winruntime.runtime_order_problem(state, "torch-first")
    assert "import Qt before torch" in winruntime.runtime_order_problem(state, "one-missing")


def test_the_gui_entry_preloads_before_any_qt_import():
    # `python -m sorter` (the frozen Sorter.exe's script) with no arguments opens the window:
    # the preload must run first, with no PySide6 module loaded yet.
    code = (
        "import sys, runpy, types, sorter.winruntime as w\n"
        "def spy():\n"
        "    print(sorted(m for m in sys.modules if m.startswith('PySide6')))\n"
        "    raise SystemExit(0)\n"
        "w.preload_torch_runtime = spy\n"
        "no_window = lambda args: print('no preload') or 0\n"  # no window if the spy is skipped
        "sys.modules['sorter.gui.app'] = types.SimpleNamespace(main=no_window)\n"
        "sys.argv = ['sorter']\n"
        "runpy.run_module('sorter', run_name='__main__')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
