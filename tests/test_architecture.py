"""The one-way import rule: nothing in the core or the CLI may import Qt or the GUI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "sorter"
FORBIDDEN = ("PySide6", "sorter.gui", "shiboken6")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


QT_FREE = sorted(
    [
        *ROOT.joinpath("core").rglob("*.py"),
        *ROOT.joinpath("cli").rglob("*.py"),
        ROOT / "appdirs.py",
        ROOT / "logs.py",
    ]
)


@pytest.mark.parametrize("path", QT_FREE, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_does_not_import_qt(path: Path) -> None:
    bad = {name for name in _imports(path) if name.startswith(FORBIDDEN)}
    assert not bad, f"{path.name} imports {bad}"


def test_rule_catches_a_qt_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("from PySide6.QtWidgets import QWidget\n", encoding="utf-8")
    assert any(n.startswith(FORBIDDEN) for n in _imports(sample))
