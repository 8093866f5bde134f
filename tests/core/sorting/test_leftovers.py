"""What a killed command leaves (temporary files, half-noted copies) goes at the next command."""

from __future__ import annotations

import errno
import os

import pytest
from fakes import fake_score, tree_hashes

import sorter.core.sorting.safecopy as safecopy
from sorter.core.sorting.journal import Journal
from sorter.core.sorting.relabel import relabel
from sorter.core.sorting.resort import apply_resort, plan_resort
from sorter.core.sorting.safecopy import TEMP_PREFIX, TEMP_SUFFIX, restore_file
from sorter.core.sorting.sort import sort_folder
from sorter.core.sorting.undo import undo_run

TEMP = f"{TEMP_PREFIX}0123456789abcdef{TEMP_SUFFIX}"


def commands(photos, out, model):
    """Every command that writes into OUT, as the window and the CLI call them."""
    return {
        "sort": lambda: sort_folder(photos, out, model=model, score=fake_score, mode="link"),
        "undo": lambda: undo_run(out),
        "relabel": lambda: relabel(out, photos / "grey.png", ["dogs"], ["cats", "dogs"]),
        "resort": lambda: apply_resort(
            plan_resort(out, model, default_threshold=0.3, score=fake_score)
        ),
    }


@pytest.mark.parametrize("command", ["sort", "undo", "relabel", "resort"])
def test_every_command_removes_temporary_files_left_in_out(photos, fake_model, tmp_path, command):
    out = tmp_path / "out"
    sort_folder(photos, out, model=fake_model, score=fake_score)
    (out / "old-folder").mkdir()
    left = [out / TEMP, out / "cats" / TEMP, out / "old-folder" / TEMP]
    for path in left:
        path.write_bytes(b"half a photo")
    commands(photos, out, fake_model)[command]()
    assert [p for p in left if p.exists()] == []


def test_a_noted_temporary_file_in_a_source_folder_goes_and_nothing_else(
    photos, fake_model, tmp_path
):
    out = tmp_path / "out"
    sort_folder(photos, out, model=fake_model, score=fake_score)
    temp, not_ours = photos / TEMP, photos / "red.jpg"
    temp.write_bytes(b"half a photo")
    with Journal(out) as journal:
        journal.note_temp(str(temp))
        journal.note_temp(str(not_ours))  # a damaged row: never removes a user's file
    undo_run(out)
    assert not temp.exists() and not_ours.is_file()
    with Journal(out) as journal:
        assert journal.noted_temps() == []


def test_restore_links_straight_to_the_final_name(photos, tmp_path):
    copy, original = photos / "red.jpg", tmp_path / "back" / "red.jpg"
    noted = []
    assert restore_file(copy, original, note_temp=noted.append)
    assert os.path.samefile(copy, original) and noted == []  # no temporary name at all
    assert not restore_file(copy, original)  # never over a file standing there


def test_restore_without_links_copies_through_a_noted_temp(photos, tmp_path, monkeypatch):
    def no_links(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(safecopy.os, "link", no_links)
    copy, original = photos / "red.jpg", tmp_path / "back" / "red.jpg"
    noted, forgotten = [], []
    assert restore_file(copy, original, note_temp=noted.append, forget_temp=forgotten.append)
    assert original.read_bytes() == copy.read_bytes()
    assert len(noted) == 1 and noted == forgotten and not os.path.exists(noted[0])
    assert os.path.basename(noted[0]).startswith(TEMP_PREFIX)
    assert set(tree_hashes(original.parent)) == {"red.jpg"}
