"""Start the window: QApplication first, window shown, then the model loads in the background."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from sorter import __version__
from sorter.logs import setup_logging

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sorter-gui", description="Sorter's window.")
    parser.add_argument("folder", nargs="?", help="a folder to sort right away")
    parser.add_argument("--model", help="a model file to use instead of the current one")
    parser.add_argument("--screenshots", metavar="DIR", help="save a PNG of every state, then quit")
    parser.add_argument("--self-test", action="store_true", help="open, load the model, close")
    parser.add_argument("--timeout", type=float, default=120.0, help="self-test time limit (s)")
    return parser.parse_args(argv)


def make_app() -> QApplication:
    """The QApplication (reused when one exists), named, themed and with its icon."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from sorter.gui import refcount_guard

    refcount_guard.install()  # PySide6 6.12.0 on Python 3.11 would free None and True
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

        ctypes.windll.shell32.SetCurrentProcessExplicitAppUserModelID("Sorter.Sorter")


def main(argv: list[str] | None = None) -> int:
    """`sorter-gui [FOLDER] [--model FILE] [--screenshots DIR] [--self-test]`."""
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
    from sorter.gui.main_window import MainWindow

    window = MainWindow(model_path=args.model)
    window.show()
    log.info("Window shown %.2f s after start", time.perf_counter() - _STARTED)
    if args.folder:
        window.open_sources([Path(args.folder)])
    QTimer.singleShot(0, window.start_loading_model)  # after the first paint
    return app.exec()


def run_window_self_test(timeout_s: float = 120.0, model_path: str | None = None) -> int:
    """Open the main window, wait for the model, close. 0: ready in time; 1: failed or too slow.

    For the packaged exe's smoke test (`--self-test`): it proves Qt, torch and the model load.
    """
    setup_logging(to_stderr=True)
    make_app()
    from sorter.gui.main_window import MainWindow

    window = MainWindow(model_path=model_path)
    window.show()
    outcome = {"ok": False}
    loop = QEventLoop()
    window.model_ready.connect(lambda: (outcome.update(ok=True), loop.quit()))
    window.model_failed.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    window.start_loading_model()
    loop.exec()
    if window.last_error is not None:
        window.last_error.close()
    window.close()
    if outcome["ok"]:
        log.info("Self-test passed: %s", window.model_label.text())
        return 0
    log.error("Self-test failed: the model was not ready within %.0f s", timeout_s)
    return 1


_STARTED = time.perf_counter()
