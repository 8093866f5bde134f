"""The simple pages of the main window: start (drop area), progress, and summary."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sorter.core.jobs import Progress
from sorter.gui.drop_area import DropArea

log = logging.getLogger(__name__)

DEFAULT_OUT_TEXT = (
    "a new folder beside yours, named “<your folder> (sorted)” "
    "(from a whole drive or card: “Sorted from …” in Pictures)"
)


def big_label(text: str = "", scale: float = 1.4) -> QLabel:
    label = QLabel(text)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    label.setWordWrap(True)
    return label


def open_folder(path: Path) -> bool:
    """Show a folder in Explorer (Windows) or the file manager."""
    log.info("Opening %s", path)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class OutputRow(QWidget):
    """ "Copies go to: <folder>  [Change...]"; the window decides what Change does."""

    change_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.change_button = QPushButton("Change...")
        self.change_button.clicked.connect(self.change_requested)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.caption = QLabel("Copies go to:")  # "Photos go to:" for a move
        row.addWidget(self.caption)
        row.addWidget(self.label, 1)
        row.addWidget(self.change_button)

    def set_text(self, text: str) -> None:
        self.label.setText(text)


class HomePage(QWidget):
    """The first page: drop area, where copies go, and the skip-preview option."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.drop_area = DropArea()
        self.output_row = OutputRow()
        self.output_row.set_text(DEFAULT_OUT_TEXT)
        self.skip_preview = QCheckBox("Copy straight away (skip the preview)")
        self.recent_label = QLabel()
        self.recent_label.setWordWrap(True)
        self.own_categories_button = QPushButton("Use your own categories...")
        self.own_categories_button.setToolTip(
            "Teach Sorter your own categories from a few example photos of each"
        )
        options = QHBoxLayout()
        options.addWidget(self.skip_preview)
        options.addStretch(1)
        options.addWidget(self.own_categories_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.drop_area, 1)
        layout.addWidget(self.output_row)
        layout.addLayout(options)
        layout.addWidget(self.recent_label)

    def set_recent(self, folders: list[str]) -> None:
        shown = folders[:3]
        self.recent_label.setText(
            ("Recent: " + "  ·  ".join(Path(f).name for f in shown)) if shown else ""
        )
        self.recent_label.setToolTip("\n".join(folders))


class ProgressPage(QWidget):
    """A job in progress: what it does, a bar, images/s and time left, and Cancel."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = big_label()
        self.bar = QProgressBar()
        self.detail = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.title)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail)
        layout.addLayout(row)
        layout.addStretch(2)

    def start(self, title: str) -> None:
        self.title.setText(title)
        self.bar.setRange(0, 0)  # busy until the first report says how many
        self.detail.setText("Starting...")
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")

    def stop(self) -> None:
        """The job ended without finishing: no busy animation, no Cancel to press."""
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.cancel_button.setEnabled(False)

    def show_progress(self, p: Progress) -> None:
        if p.total:
            self.bar.setRange(0, p.total)
            self.bar.setValue(min(p.done, p.total))
        parts = [f"{p.done} of {p.total} {p.unit}" if p.total else f"{p.done} {p.unit}"]
        if p.rate:
            parts.append(f"{p.rate:.1f} {p.unit}/s")
        if p.eta_s is not None:
            parts.append(f"about {format_eta(p.eta_s)} left")
        if p.message:
            parts.append(p.message)
        self.detail.setText("  ·  ".join(parts))

    def _on_cancel_button_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling...")
        self.cancel_requested.emit()


def format_eta(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class SummaryPage(QWidget):
    """After copying: what went where, "Open folder" buttons, undo, and the way into review."""

    review_requested = Signal()
    again_requested = Signal()
    undo_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = big_label()
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self._grid_host = QFrame()
        self._grid = QGridLayout(self._grid_host)
        self.folder_buttons: dict[str, QPushButton] = {}
        self.open_out_button = QPushButton("Open output folder")
        self.undo_button = QPushButton("Undo this sort")
        self.undo_button.setToolTip(
            "Removes the copies this sort made; a copy changed since then is kept"
        )
        self.undo_button.clicked.connect(self.undo_requested)
        self.review_button = QPushButton("Review uncertain")
        self.review_button.clicked.connect(self.review_requested)
        self.again_button = QPushButton("Sort another folder")
        self.again_button.clicked.connect(self.again_requested)
        self.out: Path | None = None
        self.open_out_button.clicked.connect(lambda: self.out and open_folder(self.out))
        row = QHBoxLayout()
        row.addWidget(self.open_out_button)
        row.addWidget(self.undo_button)
        row.addStretch(1)
        row.addWidget(self.again_button)
        row.addWidget(self.review_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addWidget(self._grid_host)
        layout.addStretch(1)
        layout.addLayout(row)

    def show_summary(
        self, out: Path, folders: dict[str, tuple[Path, int]], title: str, detail: str
    ) -> None:
        """`folders`: name -> (folder path, image count); empty folders are left out."""
        self.out = out
        self.title.setText(title)
        self.detail.setText(detail)
        self.set_folders(folders)
        self.undo_button.setEnabled(True)
        self.review_button.setDefault(True)

    def set_undo_tip(self, mode: str) -> None:
        """Undo after a move puts the photos back; after a copy or link it removes files."""
        if mode == "move":
            tip = "Puts every moved photo back where it was; a copy changed since then is kept"
        else:
            tip = "Removes the copies this sort made; a copy changed since then is kept"
        self.undo_button.setToolTip(tip)

    def set_folders(self, folders: dict[str, tuple[Path, int]]) -> None:
        """The folder rows and the review button's count (again after each correction)."""
        while self._grid.count():
            self._grid.takeAt(0).widget().deleteLater()
        self.folder_buttons = {}
        shown = [(n, p, c) for n, (p, c) in folders.items() if c]
        for row, (name, path, count) in enumerate(shown):
            button = QPushButton("Open folder")
            button.clicked.connect(lambda _=False, p=path: open_folder(p))
            self.folder_buttons[name] = button
            self._grid.addWidget(QLabel(f"<b>{html.escape(name)}</b>"), row, 0)
            self._grid.addWidget(QLabel(plural(count, "image")), row, 1)
            self._grid.addWidget(button, row, 2)
        self._grid.setColumnStretch(3, 1)
        uncertain = folders.get("uncertain", (self.out, 0))[1]
        self.review_button.setText(f"Review uncertain ({uncertain})")
        self.review_button.setEnabled(True)

    def show_undone(self, title: str, detail: str) -> None:
        """The sort was undone: nothing left to open, review or undo."""
        self.title.setText(title)
        self.detail.setText(detail)
        self.set_folders({})
        self.undo_button.setEnabled(False)
        self.review_button.setEnabled(False)
        self.again_button.setDefault(True)


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 image", "2 images"; `many` for irregular words ("copy", "copies")."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
