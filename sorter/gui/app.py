"""Start the window: QApplication first, window shown, then the model loads in the background."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from sorter import __version__
from sorter.core.files import clean_path_arg
from sorter.logs import setup_logging

if TYPE_CHECKING:
    from sorter.gui.main_window import MainWindow

log = logging.getLogger(__name__)
# Also on the installer's shortcuts (installer/sorter.iss): one taskbar button for both.
APP_USER_MODEL_ID = "Sorter.Sorter"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sorter-gui", description="Sorter's window.")
    parser.add_argument(
        "paths",
        nargs="*",
        type=clean_path_arg,  # `"D:\"` arrives as `D:"` on Windows
        metavar="PATH",
        help="folders or images to sort right away (Explorer passes several when several items "
        "are dropped on Sorter's icon)",
    )
    parser.add_argument("--model", help="a model file to use instead of the current one")
    parser.add_argument("--screenshots", metavar="DIR", help="save a PNG of every state, then quit")
    parser.add_argument("--self-test", action="store_true", help="open, load the model, close")
    parser.add_argument("--timeout", type=float, default=120.0, help="self-test time limit (s)")
    return parser.parse_args(argv)


def make_app() -> QApplication:
    """The QApplication (reused when one exists), named, themed and with its icon."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Sorter")
    app.setOrganizationName("Sorter")
    app.setApplicationVersion(__version__)
    _windows_taskbar_id()
    from sorter.gui.theme import app_icon, apply_theme, follow_system_theme

    apply_theme(app)
    follow_system_theme(app)
    app.setWindowIcon(app_icon())
    from sorter.gui import gc_guard

    gc_guard.install(app)  # garbage is collected on this thread, never on a worker's
    return app


def _windows_taskbar_id() -> None:
    # Without an explicit id Windows groups the window under python.exe's icon.
    if sys.platform == "win32":
        import ctypes

        ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID(APP_USER_MODEL_ID)


def main(argv: list[str] | None = None) -> int:
    """`sorter-gui [PATH...] [--model FILE] [--screenshots DIR] [--self-test]`."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:  # the core checks (Qt-free) plus this window, one line per check
        from sorter.selftest import run_self_test

        def window_check(timeout_s: float) -> int:
            return run_window_self_test(timeout_s, model_path=args.model)

        return run_self_test(window_check, timeout_s=args.timeout)
    setup_logging()
    app = make_app()
    if args.screenshots:
        from sorter.gui.screenshots import take_screenshots

        return take_screenshots(Path(args.screenshots), model_path=args.model)
    from sorter.gui.errors import install_error_hook

    window = open_window(args)
    hook = install_error_hook(window)
    app.aboutToQuit.connect(hook.uninstall)
    QTimer.singleShot(0, window.start_loading_model)  # after the first paint
    return app.exec()


def open_window(args: argparse.Namespace) -> MainWindow:
    """Show the main window, with the command line's folders and images waiting for the model."""
    from sorter.gui.main_window import MainWindow

    window = MainWindow(model_path=args.model)
    window.show()
    log.info("Window shown %.2f s after start", time.perf_counter() - _STARTED)
    if args.paths:
        window.open_sources([Path(p) for p in args.paths])
    return window


def run_window_self_test(timeout_s: float = 120.0, model_path: str | None = None) -> int:
    """Open the main window, wait for the model, close. 0: ready in time; 1: failed or too slow.

    For the packaged exe's smoke test (`--self-test`): it proves Qt, torch and the model load.
    """
    setup_logging(to_stderr=True)
    make_app()
    from sorter.gui.errors import install_error_hook
    from sorter.gui.main_window import MainWindow

    window = MainWindow(model_path=model_path)
    hook = install_error_hook(window)
    window.show()
    outcome = {"ok": False}
    loop = QEventLoop()
    window.model_ready.connect(lambda: (outcome.update(ok=True), loop.quit()))
    window.model_failed.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    window.start_loading_model()
    loop.exec()
    hook.uninstall()
    if window.last_error is not None:
        window.last_error.close()
    window.close()
    if hook.count:
        log.error("Self-test failed: %d unexpected error(s) while the window ran", hook.count)
        return 1
    if outcome["ok"]:
        return _check_runtime_order(window.model_label.text())
    log.error("Self-test failed: the model was not ready within %.0f s", timeout_s)
    return 1


def _check_runtime_order(model_text: str) -> int:
    """Qt was loaded first, torch later: on Windows this passes only with the runtime preload."""
    from sorter import winruntime

    problem = winruntime.runtime_order_problem()
    if problem:
        log.error("Self-test failed: %s", problem)
        return 1
    log.info("Self-test passed: %s; %s", model_text, winruntime.describe())
    return 0


_STARTED = time.perf_counter()
