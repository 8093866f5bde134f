"""Error dialog: one readable sentence first, the technical details only on request; the
window-wide hook that shows every unexpected error that way."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from sorter.gui.worker import JobError
from sorter.logs import log_file

log = logging.getLogger(__name__)


class ErrorDialog(QDialog):
    """Says what went wrong in one sentence; "Copy details" puts the traceback on the clipboard."""

    def __init__(
        self,
        error: JobError,
        title: str = "Sorter",
        parent: QWidget | None = None,
        log_path: Path | None = None,
    ):
        super().__init__(parent)
        self.error = error
        self.log_label = QLabel(_log_text(log_path))
        self.log_label.setWordWrap(True)
        self.log_label.setTextFormat(Qt.TextFormat.PlainText)
        self.log_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log_label.setVisible(log_path is not None)
        self.setWindowTitle(title)
        self.message_label = QLabel(error.message)
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setMinimumWidth(self.fontMetrics().averageCharWidth() * 50)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_view = QPlainTextEdit(error.details)
        self.details_view.setReadOnly(True)
        self.details_view.setVisible(False)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self.show_button = QPushButton("Show details")
        self.show_button.setCheckable(True)
        self.show_button.toggled.connect(self._on_show_button_toggled)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.show_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.accepted.connect(self.accept)
        self._lay_out(buttons)

    def _lay_out(self, buttons: QDialogButtonBox) -> None:
        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize)
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size)
        )
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addWidget(self.message_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.log_label)
        layout.addWidget(self.details_view, 1)
        layout.addWidget(buttons)

    def _on_copy_button_clicked(self) -> None:
        text = f"{self.error.message}\n\n{self.error.details}"
        if self.log_label.isVisibleTo(self):
            text += f"\n{self.log_label.text()}\n"
        QApplication.clipboard().setText(text)
        self.copy_button.setText("Copied")

    def _on_show_button_toggled(self, shown: bool) -> None:
        self.details_view.setVisible(shown)
        self.adjustSize()


def _log_text(path: Path | None) -> str:
    return f"The log file has more: {path}" if path is not None else ""


def show_error(
    parent: QWidget | None, error: JobError, title: str = "Sorter", log_path: Path | None = None
) -> ErrorDialog:
    """Open an ErrorDialog without blocking (window-modal) and return it."""
    log.warning("Shown to user: %s", error.message)
    dialog = ErrorDialog(error, title, parent, log_path)
    dialog.setModal(True)
    dialog.open()
    return dialog


class ErrorHook(QObject):
    """`sys.excepthook` and `threading.excepthook` while the window runs.

    PySide6 hands an exception escaping a slot, a timer callback, an overridden Qt method or a
    QRunnable to `sys.excepthook` and carries on, so this hook is also the slot guard: the error
    is logged, the window stops what it was doing (`recover_from_error()`), and one sentence is
    shown with "Copy details" and the log file's path. A windowed exe has no console: without
    this, the error would vanish and the window stay on a busy page.
    """

    caught = Signal(object)  # JobError; emitted from any thread, shown on the window's thread

    def __init__(self, window: Any) -> None:
        # The window is reached as parent(), never kept in an attribute: a Python reference
        # cycle through a window's wrapper made a later test crash in shiboken's deletion.
        super().__init__(window)
        self.dialog: ErrorDialog | None = None
        self.count = 0  # unexpected errors seen; the window self-test fails on any
        self._previous: tuple[Any, Any] | None = None
        self._showing = False
        self.caught.connect(self._on_caught)

    def install(self) -> ErrorHook:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook
        return self

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def excepthook(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt | SystemExit) and self._previous is not None:
            self._previous[0](exc_type, exc, tb)  # Ctrl-C in a console keeps its usual meaning
            return
        try:
            error = JobError.from_exception(exc)
            # Text only, and sys.last_* cleared: a kept traceback keeps the slot's frames, and
            # the Qt objects they name, alive long after the window has let them go.
            log.error("Unexpected error:\n%s", error.details.rstrip())
            _forget_last_traceback()
            self.caught.emit(error)
        except Exception:  # the hook must never raise: that would come straight back here
            sys.__excepthook__(exc_type, exc, tb)

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None and not issubclass(args.exc_type, SystemExit):
            self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def _on_caught(self, error: JobError) -> None:
        self.count += 1
        if self._showing:
            return
        self._showing = True
        try:
            self._recover_and_show(error)
        except Exception:  # raising here would re-enter the hook through PySide6
            log.exception("Could not show the error")
        finally:
            self._showing = False

    def _recover_and_show(self, error: JobError) -> None:
        window = self.parent()
        try:
            window.recover_from_error()
        finally:
            if self.dialog is None or not self.dialog.isVisible():  # one dialog at a time
                self.dialog = show_error(window, error, log_path=log_file())
                window.last_error = self.dialog


def _forget_last_traceback() -> None:
    # PySide6 reports a slot's exception through PyErr_Print, which keeps it in sys.last_*.
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if hasattr(sys, name):
            setattr(sys, name, None)


def install_error_hook(window: Any) -> ErrorHook:
    """Show every unexpected error of this window's process as one sentence (see ErrorHook)."""
    return ErrorHook(window).install()
