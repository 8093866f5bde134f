"""*Help > About Sorter*: the version, where Sorter keeps the user's things, and the licences of
what it ships (Sorter's own code, the two networks' weights, the sample photos)."""

from __future__ import annotations

import html
import logging
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from sorter import __version__, appdirs
from sorter.gui.pages import open_folder

log = logging.getLogger(__name__)

# The licence texts bundled with Sorter.exe (build.spec), shown one after the other: Sorter's
# own, the list of what it ships, then the full texts that came with the weights and photos.
LICENCE_FILES = (
    ("LICENSE",),
    ("THIRD_PARTY_LICENSES.md",),
    ("assets", "weights", "LICENSE"),
    ("assets", "samples", "LICENSE.md"),
)


def places() -> list[tuple[str, Path]]:
    """What Sorter keeps where, in the words of the About box."""
    return [
        ("Settings", appdirs.config_dir()),
        ("Models and corrections", appdirs.data_dir()),
        ("Log files", appdirs.log_dir()),
        ("Thumbnails", appdirs.cache_dir()),
    ]


def about_html() -> str:
    rows = "".join(
        f"<tr><td>{html.escape(what)}:&nbsp;&nbsp;</td><td>{html.escape(str(where))}</td></tr>"
        for what, where in places()
    )
    return (
        f"<p><b>Sorter {html.escape(__version__)}</b></p>"
        "<p>Copies photos into category folders with an image classifier. It never changes a "
        "photo, and moves one only when you choose Move. It makes no network connection: "
        "nothing leaves this computer.</p>"
        f"<table>{rows}</table>"
        "<p>Sorter's own code is under the MIT licence. It is built with PySide6 (Qt), PyTorch, "
        "fastai and Pillow, each under its own licence. It ships the ImageNet weights of "
        "MobileNetV2 (torchvision, BSD 3-Clause) and EfficientNet-Lite0 (Apache 2.0), and 14 "
        "sample photos, each under its own free licence: <i>Licences</i> shows every text.</p>"
    )


def licence_text() -> str:
    """The shipped licence files, each under its name."""
    parts = []
    for names in LICENCE_FILES:
        path = appdirs.asset_root().joinpath(*names)
        title = f"==== {'/'.join(names)} ===="
        try:
            parts.append(f"{title}\n\n{path.read_text(encoding='utf-8')}")
        except OSError as exc:
            log.warning("Cannot read %s: %s", path, exc)
            parts.append(f"{title}\n\n(missing from this installation)")
    return "\n\n".join(parts)


class LicenceDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Licences")
        self.text = QPlainTextEdit(licence_text())
        self.text.setReadOnly(True)
        font = QFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setFont(font)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        em = self.fontMetrics().height()
        self.resize(50 * em, 36 * em)


class AboutDialog(QDialog):
    """Version, places, licences; *Open the log folder* for a bug report."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("about_sorter")
        self.setWindowTitle("About Sorter")
        self.text = QLabel(about_html())
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.log_button = self.buttons.addButton(
            "Open the log folder", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.log_button.clicked.connect(lambda: open_folder(appdirs.log_dir()))
        self.licence_button = self.buttons.addButton(
            "Licences", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.licence_button.clicked.connect(self.show_licences)
        self.buttons.rejected.connect(self.reject)
        self.licences: LicenceDialog | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.buttons)
        em = self.fontMetrics().height()
        self.resize(40 * em, self.sizeHint().height())

    def show_licences(self) -> LicenceDialog:
        self.licences = LicenceDialog(self)
        self.licences.open()
        return self.licences
