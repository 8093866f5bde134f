"""Unexpected errors anywhere in the window: one sentence, the log file's path, a usable window."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from sorter.core.sorting import session
from sorter.gui import app
from sorter.gui.errors import install_error_hook
from sorter.logs import log_file, setup_logging

SENTENCE = "Something went wrong inside Sorter; the details can help fix it."


@pytest.fixture
def hook(window):
    setup_logging()  # as the app does first: the dialog names this file
    installed = install_error_hook(window)
    yield installed
    installed.uninstall()


def _dialog_shown(qtbot, hook) -> None:
    qtbot.waitUntil(lambda: hook.dialog is not None and hook.dialog.isVisible(), timeout=30_000)


def _fails_once(monkeypatch, module, name: str) -> None:
    real = getattr(module, name)
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in a slot")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, broken)


def test_an_error_in_a_slot_shows_one_sentence_and_the_window_recovers(
    qtbot, window, hook, photos, monkeypatch
):
    # _on_scan_job_finished is a real slot (the scan job's `finished` signal); it raises midway.
    _fails_once(monkeypatch, session, "initial_thresholds")
    window.open_sources([photos])
    _dialog_shown(qtbot, hook)
    dialog = hook.dialog
    assert dialog is window.last_error
    assert dialog.message_label.text() == SENTENCE
    assert not dialog.details_view.isVisible()  # no traceback first
    path = log_file()
    assert path is not None and str(path) in dialog.log_label.text()
    assert dialog.log_label.isVisible()
    assert "RuntimeError: a bug in a slot" in path.read_text(encoding="utf-8")
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    copied = QApplication.clipboard().text()
    assert "RuntimeError: a bug in a slot" in copied and str(path) in copied
    # Back on the start page, no busy bar, and the next drop works.
    assert window.stack.currentWidget() is window.home
    assert window.progress_page.bar.maximum() != 0
    dialog.accept()
    with qtbot.waitSignal(
        window.page_changed, timeout=60_000, check_params_cb=lambda p: p == "PreviewPage"
    ):
        window.open_sources([photos])
    assert hook.count == 1


def test_an_error_in_a_thread_reaches_the_window(qtbot, window, hook):
    def work() -> None:
        raise ValueError("a bug in a background thread")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    _dialog_shown(qtbot, hook)
    assert hook.dialog.message_label.text() == SENTENCE
    assert "a bug in a background thread" in hook.dialog.error.details
    assert window.stack.currentWidget() is window.home


def test_errors_in_a_burst_show_one_dialog(qtbot, window, hook):
    for _ in range(3):
        hook.excepthook(RuntimeError, RuntimeError("again"), None)
    _dialog_shown(qtbot, hook)
    first = hook.dialog
    hook.excepthook(RuntimeError, RuntimeError("once more"), None)
    assert hook.dialog is first and hook.count == 4


def test_the_hook_restores_the_previous_hooks(window):
    import sys

    before = (sys.excepthook, threading.excepthook)
    hook = install_error_hook(window)
    assert sys.excepthook == hook.excepthook
    hook.uninstall()
    assert (sys.excepthook, threading.excepthook) == before


def test_window_self_test_fails_on_an_unexpected_error(qtbot, tiny_model, monkeypatch):
    from sorter.gui.main_window import MainWindow

    def broken(self) -> None:
        raise RuntimeError("a bug after the model loaded")

    monkeypatch.setattr(MainWindow, "start_pending", broken)
    assert app.run_window_self_test(60, model_path=str(tiny_model)) == 1
