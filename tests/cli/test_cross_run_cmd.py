"""Sequences of real commands into one OUT (sort, sort --move, resort, undo): no photo is lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fakes import make_tiny_model, photo_hashes, tree_hashes

from sorter.appdirs import asset_path
from sorter.cli import main


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pth")


def samples(folder: Path) -> Path:
    """The 14 sample photos that ship with Sorter."""
    folder.mkdir(parents=True)
    for photo in sorted(asset_path("samples").glob("*.jpg")):
        shutil.copy2(photo, folder / photo.name)
    return folder


def sorter(*args) -> int:
    return main([str(a) for a in args])


def test_copy_then_move_then_undo_of_the_copy_run_loses_nothing(tmp_path, model_file, capsys):
    src, out = samples(tmp_path / "S"), tmp_path / "O"
    before = tree_hashes(src)
    assert len(before) == 14
    assert sorter("sort", src, "--out", out, "--model", model_file) == 0
    assert sorter("sort", src, "--out", out, "--model", model_file, "--move") == 0
    assert tree_hashes(src) == {}  # every photo was "already there": all sources removed
    capsys.readouterr()
    assert sorter("undo", out, "--run", 1) == 0
    printed = capsys.readouterr().out
    present = set(tree_hashes(src).values()) | set(photo_hashes(out).values())
    assert set(before.values()) <= present  # every photo still exists somewhere
    assert "run 2 relies on it" in printed
    assert sorter("undo", out) == 0
    assert tree_hashes(src) == before
    assert photo_hashes(out) == {}


def test_moved_twins_resort_then_undo_puts_both_back(tmp_path, model_file, capsys):
    src, out = tmp_path / "S", tmp_path / "O"
    samples(src / "album1")
    samples(src / "album2")  # the same 14 photos under the same names
    before = tree_hashes(src)
    args = ("--out", out, "--model", model_file)
    assert sorter("sort", src, *args, "--move", "--threshold", "0.999") == 0
    assert sorter("resort", out, "--model", model_file, "--yes") == 0
    assert "images would change folder" in capsys.readouterr().out
    assert sorter("undo", out) == 0
    printed = capsys.readouterr().out
    assert tree_hashes(src) == before
    assert "put back 28 moved images" in printed and "not put back" not in printed
    for line in printed.splitlines():
        if line.strip().startswith("kept "):
            assert Path(line.split("kept ", 1)[1].split(": ", 1)[0]).exists(), line
