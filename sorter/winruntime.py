"""Frozen Windows build: load torch's C++ runtime before Qt's, so one MSVCP140.dll serves both.

PySide6 and shiboken6 ship their own, older MSVCP140.dll. Windows keeps the first DLL of a name
that a process loads, so when Qt comes first, torch >= 2.9 gets Qt's copy and `c10.dll` fails to
initialise ("[WinError 1114] A dynamic link library (DLL) initialization routine failed"; pytorch
issues 166628 and 169429). The window imports Qt at once and torch seconds later in a worker, so
the GUI entry loads `c10.dll` (a few milliseconds, unlike `import torch`) before anything imports
Qt. Elsewhere (Linux, macOS, running from source) nothing happens.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RUNTIME_DLL = "c10.dll"
QT_MODULE = "PySide6.QtCore"


@dataclass
class Preload:
    """What preload_torch_runtime() did in this process."""

    needed: bool = False
    loaded: Path | None = None
    error: str | None = None


STATE = Preload()


def needs_preload(platform: str | None = None, frozen: bool | None = None) -> bool:
    """True in a frozen build on Windows, the one place the DLL search order is the bundle's."""
    platform = sys.platform if platform is None else platform
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    return platform == "win32" and frozen


def torch_lib_dir(bundle: Path | None = None) -> Path:
    """`<bundle>/torch/lib`, where PyInstaller puts torch's DLLs (bundle: sys._MEIPASS)."""
    root = bundle if bundle is not None else Path(getattr(sys, "_MEIPASS", "."))
    return root / "torch" / "lib"


def preload_torch_runtime(
    bundle: Path | None = None,
    *,
    needed: bool | None = None,
    load: Callable[[str], object] | None = None,
    add_dll_directory: Callable[[str], object] | None = None,
) -> Preload:
    """Load torch's `c10.dll` (and with it torch's MSVC runtime) if this build needs it.

    Must run before PySide6 is imported. Never raises: a failure is recorded in the result (and
    in STATE) for the self-test; the later `import torch` then reports the real error.
    The keyword arguments stand in for the Windows-only calls in tests.
    """
    state = STATE
    state.needed = needs_preload() if needed is None else needed
    if not state.needed:
        return state
    lib = torch_lib_dir(bundle)
    add = add_dll_directory or os.add_dll_directory  # type: ignore[attr-defined]
    try:
        # The bundle's top folder holds the MSVC runtime PyInstaller collected for torch (the
        # build machine's, newer than Qt's); torch's own loader adds torch/lib as well.
        for folder in (lib.parent.parent, lib):
            add(str(folder))
        (load or _load_library)(str(lib / RUNTIME_DLL))
        state.loaded, state.error = lib / RUNTIME_DLL, None
    except (OSError, AttributeError) as exc:
        state.loaded, state.error = None, f"{type(exc).__name__}: {exc}"
    return state


def _load_library(path: str) -> object:
    import ctypes

    return ctypes.WinDLL(path)  # type: ignore[attr-defined]


def import_order(modules: list[str] | None = None) -> str:
    """ "qt-first", "torch-first" or "one-missing", from the order modules entered sys.modules."""
    names = list(sys.modules) if modules is None else modules
    if QT_MODULE not in names or "torch" not in names:
        return "one-missing"
    return "qt-first" if names.index(QT_MODULE) < names.index("torch") else "torch-first"


def runtime_order_problem(state: Preload | None = None, order: str | None = None) -> str | None:
    """For the window's self-test, after the model loaded: why the guard is not proven, or None.

    Where a preload is needed, the self-test must load Qt first and torch later (the order that
    fails without the guard), and the preload must have worked.
    """
    state = STATE if state is None else state
    if not state.needed:
        return None
    if state.error:
        return f"loading {RUNTIME_DLL} before Qt failed: {state.error}"
    order = import_order() if order is None else order
    if order != "qt-first":
        return f"the self-test must import Qt before torch to prove the guard (found {order})"
    return None


def describe(state: Preload | None = None) -> str:
    """One line for the log: what was preloaded, or why nothing was."""
    state = STATE if state is None else state
    if not state.needed:
        return "torch runtime preload not needed here (only a frozen Windows build needs it)"
    if state.loaded:
        return f"torch runtime preloaded from {state.loaded}, then Qt, then torch"
    return f"torch runtime preload failed: {state.error}"
