"""kill -9 a real `sorter resort` or `sorter undo` at chosen points: nothing is left behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import make_image, make_tiny_model, photo_hashes, tree_hashes

from sorter.cli import main
from sorter.core.sorting.safecopy import TEMP_PREFIX

pytestmark = pytest.mark.slow

# Runs one real command, SIGKILLing the process at the point named by argv[1].
DRIVER = r"""
import errno, os, signal, sys
import sorter.core.sorting.safecopy as sc

point, src, args = sys.argv[1], sys.argv[2], sys.argv[3:]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
real_link, real_link_or_copy, real_copy_bytes = os.link, sc._link_or_copy, sc._copy_bytes
into_src = lambda dst: os.path.abspath(dst).startswith(os.path.abspath(src) + os.sep)

def link_or_copy(source, tmp, want_link):  # resort: a copy written under its temporary name
    result = real_link_or_copy(source, tmp, want_link)
    die()

def commit_name(tmp, dest):  # resort: the copy has its final name, the temporary one is left
    real_link(tmp, os.fspath(dest))
    die()

def link(a, b, **kw):  # undo: a photo was just linked back into its source folder
    real_link(a, b, **kw)
    if into_src(b):
        die()

def no_link(a, b, **kw):  # undo across volumes: photos go back as copies
    if into_src(b):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    real_link(a, b, **kw)

def copy_bytes(source, tmp):  # ... and the first copy back is written
    result = real_copy_bytes(source, tmp)
    die()

if point == "resort-write":
    sc._link_or_copy = link_or_copy
elif point == "resort-name":
    sc._commit_name = commit_name
elif point == "undo-link":
    os.link = link
elif point == "undo-copy":
    os.link, sc._copy_bytes = no_link, copy_bytes
from sorter.cli import main
sys.exit(main(args))
"""


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pth")


def moved_twins(tmp_path: Path, model: Path) -> tuple[Path, Path, dict[str, str]]:
    """Twins (same name, same bytes) and others, moved into OUT, all uncertain."""
    src, out = tmp_path / "S", tmp_path / "O"
    for i in range(6):
        make_image(src / "album1" / f"IMG_{i:04d}.jpg", (40 * i, 200 - 30 * i, 90), size=(40, 30))
    shutil.copytree(src / "album1", src / "album2")
    before = tree_hashes(src)
    sorter("sort", src, "--out", out, "--model", model, "--move", "--threshold", "0.999")
    assert tree_hashes(src) == {}
    return src, out, before


def sorter(*args) -> int:
    return main([str(a) for a in args])


def killed(point: str, src: Path, *args) -> None:
    """Run `sorter ARGS` in a new process that SIGKILLs itself at `point`."""
    cmd = [sys.executable, "-c", DRIVER, point, str(src), *map(str, args)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def leftovers(*roots: Path) -> list[str]:
    return [str(p) for root in roots for p in root.rglob(f"{TEMP_PREFIX}*")]


def undo_all(out: Path) -> None:
    while sorter("undo", out) == 0:
        pass


@pytest.mark.parametrize("point", ["resort-write", "resort-name"])
def test_kill_during_resort_then_undo_leaves_nothing(tmp_path, model_file, point):
    src, out, before = moved_twins(tmp_path, model_file)
    killed(point, src, "resort", out, "--model", model_file, "--yes")
    assert leftovers(out), "the kill did not land while a copy was being written"
    assert sorter("undo", out) == 0
    assert leftovers(src, out) == []
    assert tree_hashes(src) == before
    assert photo_hashes(out) == {}  # no orphan copy


@pytest.mark.parametrize("point", ["resort-write", "resort-name"])
def test_kill_during_resort_then_resort_again_finishes_cleanly(tmp_path, model_file, point):
    src, out, before = moved_twins(tmp_path, model_file)
    killed(point, src, "resort", out, "--model", model_file, "--yes")
    assert sorter("resort", out, "--model", model_file, "--yes") == 0
    assert leftovers(out) == []
    assert not [name for name in photo_hashes(out) if " (2)" in name]  # no doubled copy
    assert sorter("resort", out, "--model", model_file, "--json") == 0  # nothing left to do
    undo_all(out)
    assert tree_hashes(src) == before and photo_hashes(out) == {} and leftovers(src, out) == []


@pytest.mark.parametrize("point", ["undo-link", "undo-copy"])
def test_kill_during_undo_of_a_move_leaves_nothing_in_the_source(tmp_path, model_file, point):
    src, out, before = moved_twins(tmp_path, model_file)
    killed(point, src, "undo", out)
    if point == "undo-link":
        assert leftovers(src) == []  # never a hidden file in the user's folder
    assert sorter("undo", out) == 0  # the next command on OUT finishes and cleans up
    assert leftovers(src, out) == []
    assert tree_hashes(src) == before
    assert photo_hashes(out) == {}
