"""The architecture, checked: one-way layers, no Qt in the core, fastai and writes where allowed.

Layers (docs/architecture.md): learning -> training -> sorting -> model -> base. A module may import
its own layer and the layers below it, never one above. Nothing in the core or the CLI imports Qt.
fastai is imported only by training and by the model modules that read fastai files. Only
`sorting/` writes into an output folder: every other module that writes files is listed below with
what it writes, and a new writer fails the test until it is placed in sorting/ or listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "sorter"
QT = ("PySide6", "shiboken6", "sorter.gui")
FASTAI = ("fastai", "fastcore")
LAYERS = ("base", "model", "sorting", "training", "learning")  # low to high
FASTAI_READERS = {
    "core/model/fastai_compat.py": "registers MobileNetV2 with fastai for training",
    "core/model/import_learner.py": "reads an exported fastai Learner (trusted files only)",
    "selftest.py": "checks that the frozen build can import fastai",
}
# Modules outside sorting/ that write files, and where. None of them picks a place in an output
# folder on its own.
WRITERS = {
    "appdirs.py": "creates Sorter's own config, data, cache and log folders",
    "core/files.py": "write_atomic: settings.json in the config folder, through a temp name",
    # sorting/outputlock.py names OUT's lock file; FileLock only opens the path it is given
    "core/locks.py": "lock files at the path its caller gives (settings, versions, OUT's lock)",
    "core/learning/queue.py": "the corrections database in the data folder; `queue export` images",
    "core/learning/version_folders.py": "model versions' folders and info files in the data "
    "folder; what interrupted runs left there",
    "core/learning/manage.py": "trains, deletes and adds versions in the data folder; a copy of "
    "one where the user asks (export_version, never over a file unless asked)",
    "core/model/modelfile.py": "a new model file where the caller asks (never over a file)",
    "core/model/import_learner.py": "the folder of the model file it writes",
    "core/training/report.py": "the training report beside the new model file",
    "core/training/examples.py": "a new, empty examples folder (never an existing one)",
    "core/training/train.py": "the folder of the new model file",
    "gui/screenshots.py": "window screenshots into the folder given with --screenshots",
}
WRITE_FUNCTIONS = {
    ("shutil", n) for n in ("copy", "copy2", "copyfile", "copytree", "move", "rmtree")
}
WRITE_FUNCTIONS |= {
    ("os", n)
    for n in ("remove", "unlink", "rename", "replace", "link", "symlink", "makedirs", "mkdir")
} | {("os", n) for n in ("rmdir", "renames", "removedirs", "truncate")}
# Path methods that write (`replace` is left out: str.replace cannot be told apart).
WRITE_METHODS = {"write_text", "write_bytes", "unlink", "mkdir", "touch", "rmdir", "rename", "save"}
WRITE_METHODS |= {"symlink_to", "hardlink_to"}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(tree: ast.AST, runtime_only: bool) -> list[ast.AST]:
    """ast.walk, leaving out `if TYPE_CHECKING:` blocks when runtime_only."""
    nodes, todo = [], [tree]
    while todo:
        node = todo.pop()
        if runtime_only and _is_type_checking(node):
            continue
        nodes.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def _imports(tree: ast.Module, runtime_only: bool = False) -> set[str]:
    """Every module a file imports, at the top or in a function (`from a import b` gives a.b)."""
    names: set[str] = set()
    for node in _walk(tree, runtime_only):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def layer_of(module: str) -> str | None:
    """The layer of a `sorter.core...` module name; None for anything outside the core."""
    parts = module.split(".")
    if parts[:2] != ["sorter", "core"]:
        return None
    if len(parts) > 2 and parts[2] in LAYERS[1:]:
        return parts[2]
    return "base"


def upward_imports(tree: ast.Module, own: str) -> set[str]:
    """Core modules imported from a layer above `own`."""
    rank = LAYERS.index(own)
    return {
        name
        for name in _imports(tree)
        if (layer := layer_of(name)) is not None and LAYERS.index(layer) > rank
    }


def _open_mode(call: ast.Call) -> str | None:
    args = [a.value for a in call.args if isinstance(a, ast.Constant)]
    mode = next((kw.value for kw in call.keywords if kw.arg == "mode"), None)
    if isinstance(mode, ast.Constant):
        return str(mode.value)
    strings = [a for a in args if isinstance(a, str)]
    return strings[-1] if strings else None


def write_calls(tree: ast.Module) -> list[str]:
    """Calls that create, change or delete files, as "name:line"."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else None
            saves_state = func.attr == "save" and not node.args  # QPainter.save() writes no file
            if (owner, func.attr) in WRITE_FUNCTIONS or (
                func.attr in WRITE_METHODS and not saves_state
            ):
                found.append(f"{func.attr}:{node.lineno}")
        is_open = (isinstance(func, ast.Name) and func.id == "open") or (
            isinstance(func, ast.Attribute) and func.attr == "open"
        )
        mode = _open_mode(node) if is_open else None
        if mode and any(c in mode for c in "wax+"):
            found.append(f"open({mode}):{node.lineno}")
    return found


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in ROOT.joinpath(folder).rglob("*.py"))


CORE = _python_files("core")
QT_FREE = sorted([*CORE, *_python_files("cli"), ROOT / "appdirs.py", ROOT / "logs.py"])
ALL = sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", QT_FREE, ids=_rel)
def test_module_does_not_import_qt(path: Path) -> None:
    bad = {name for name in _imports(_tree(path)) if name.startswith(QT)}
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize("path", CORE, ids=_rel)
def test_core_imports_only_its_layer_and_below(path: Path) -> None:
    own = layer_of("sorter." + _rel(path).removesuffix(".py").replace("/", "."))
    assert own is not None
    bad = upward_imports(_tree(path), own)
    assert not bad, f"{_rel(path)} ({own}) imports from a layer above it: {sorted(bad)}"


@pytest.mark.parametrize("path", ALL, ids=_rel)
def test_fastai_only_in_training_and_its_readers(path: Path) -> None:
    rel = _rel(path)
    if rel.startswith("core/training/") or rel in FASTAI_READERS:
        return
    bad = {name for name in _imports(_tree(path)) if name.split(".")[0] in FASTAI}
    assert not bad, f"{rel} imports {bad}: only training/ and {sorted(FASTAI_READERS)} may"


@pytest.mark.parametrize("path", ALL, ids=_rel)
def test_only_sorting_writes_into_output_folders(path: Path) -> None:
    rel = _rel(path)
    if rel.startswith("core/sorting/"):
        return
    calls = write_calls(_tree(path))
    if rel in WRITERS:
        assert calls, f"{rel} no longer writes files: take it off WRITERS"
    else:
        assert not calls, f"{rel} writes files ({calls}): writes into OUT belong in sorting/"


def test_core_has_no_import_cycles() -> None:
    graph = {
        "sorter." + _rel(p).removesuffix(".py").replace("/", "."): _imports(_tree(p), True)
        for p in CORE
    }  # a type-only import (under `if TYPE_CHECKING:`) never runs, so it makes no cycle
    graph = {mod: {n for n in deps if n in graph and n != mod} for mod, deps in graph.items()}
    assert not _cycle(graph), f"import cycle: {' -> '.join(_cycle(graph))}"


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


# The rules themselves must catch what they are for.


def _parse(code: str) -> ast.Module:
    return ast.parse(code)


def test_rules_catch_a_qt_import() -> None:
    assert any(n.startswith(QT) for n in _imports(_parse("from PySide6.QtWidgets import QWidget")))


def test_rules_catch_an_upward_import_even_inside_a_function() -> None:
    code = "def f():\n    from sorter.core.learning.queue import CorrectionQueue\n"
    assert upward_imports(_parse(code), "sorting") == {
        "sorter.core.learning.queue",
        "sorter.core.learning.queue.CorrectionQueue",
    }
    assert upward_imports(_parse("from sorter.core import training"), "model")
    assert not upward_imports(_parse("from sorter.core.model.decide import decide"), "sorting")


def test_rules_catch_writes() -> None:
    code = (
        "import os, shutil\n"
        "shutil.copy2(a, b)\nos.replace(a, b)\nPath(p).write_bytes(b'')\n"
        "open(p, 'wb')\nopen(p, mode='a')\nopen(p)\nPath(p).open('rb')\n"
        "painter.save()\nimage.save(path)\n"
    )
    assert write_calls(_parse(code)) == [
        "copy2:2", "replace:3", "write_bytes:4", "open(wb):5", "open(a):6", "save:10",
    ]  # fmt: skip


def test_type_only_imports_count_for_layers_not_for_cycles() -> None:
    code = "if TYPE_CHECKING:\n    from sorter.core.training import x\n"
    assert "sorter.core.training.x" in _imports(_parse(code))
    assert "sorter.core.training.x" not in _imports(_parse(code), runtime_only=True)


def test_rules_catch_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
