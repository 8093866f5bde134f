"""Light and dark palettes that follow the system setting, plus the app icon."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from sorter.appdirs import asset_path

log = logging.getLogger(__name__)

# Styles that draw their own dark mode correctly; elsewhere Fusion plus our palette does it.
NATIVE_DARK_STYLES = {"windows11"}


def system_prefers_dark() -> bool:
    """True when the desktop asks for a dark colour scheme (Qt 6.5+ reports it)."""
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    """A calm dark palette for Fusion, with readable disabled text."""
    pal = QPalette()
    base, window, text = QColor(30, 30, 32), QColor(43, 43, 46), QColor(230, 230, 230)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: window,
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(53, 53, 57),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Link: QColor(100, 160, 255),
        QPalette.ColorRole.Highlight: QColor(45, 110, 200),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.PlaceholderText: QColor(140, 140, 140),
    }
    for role, color in roles.items():
        pal.setColor(role, color)
    grey = QColor(120, 120, 120)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, grey)
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, grey)
    return pal


def apply_theme(app: QApplication, dark: bool | None = None) -> None:
    """Keep the native style where it exists; give Fusion a dark palette when the system is dark."""
    dark = system_prefers_dark() if dark is None else dark
    style = app.style().name().lower()
    if dark and style not in NATIVE_DARK_STYLES:
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    elif not dark and style not in NATIVE_DARK_STYLES and style != "windowsvista":
        app.setStyle("Fusion")
        app.setPalette(app.style().standardPalette())
    log.info("Theme: %s, style %s", "dark" if dark else "light", app.style().name())


def follow_system_theme(app: QApplication) -> None:
    """Re-apply the palette when the user switches the system between light and dark."""
    app.styleHints().colorSchemeChanged.connect(lambda scheme: apply_theme(app, _is_dark(scheme)))


def _is_dark(scheme: Qt.ColorScheme) -> bool:
    return scheme == Qt.ColorScheme.Dark


def app_icon() -> QIcon:
    """The window icon from assets/icons (an empty icon when the file is missing)."""
    icon = QIcon()
    for name in ("sorter-256.png", "sorter-64.png", "sorter-32.png"):
        path = asset_path("icons", name)
        if path.exists():
            icon.addFile(str(path))
    return icon
