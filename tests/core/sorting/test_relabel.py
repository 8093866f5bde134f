"""Tests for fixing a sorted output after a correction: adds, removals, undo, never the source."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakes import FakeModel, fake_score
from PIL import Image

from sorter.core.errors import BadPathError
from sorter.core.files import file_sha256
from sorter.core.sorting.relabel import relabel, target_folders
from sorter.core.sorting.sort import sort_folder
from sorter.core.sorting.undo import undo_run

CATEGORIES = ["cats", "dogs", "birds"]
# The fake model's scores per file name: a.jpg is sure to be a cat, b.jpg is uncertain.
SCORES = {"a.jpg": [0.9, 0.1, 0.1], "b.jpg": [0.3, 0.2, 0.1], "c.jpg": [0.8, 0.7, 0.1]}


def _sorted_output(tmp_path: Path, mode: str = "copy") -> tuple[Path, Path]:
    src = tmp_path / "photos"
    src.mkdir()
    for i, name in enumerate(SCORES):
        Image.new("RGB", (16, 16), (i * 60, 10, 10)).save(src / name)
    out = tmp_path / "sorted"
    sort_folder(
        src,
        out,
        model=FakeModel(categories=CATEGORIES, scores_by_name=SCORES),
        score=fake_score,
        mode=mode,
    )
    return src, out


def _tree(out: Path) -> set[str]:
    return {
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and ".sorter" not in p.parts and p.suffix == ".jpg"
    }


def test_target_folders() -> None:
    assert target_folders(["dogs"], CATEGORIES) == ["dogs"]
    assert target_folders([], CATEGORIES) == ["uncertain"]
    assert target_folders(["Uncertain", "new: kind"], CATEGORIES) == ["Uncertain (2)", "new_ kind"]


def test_uncertain_image_moves_to_its_categories(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    assert "uncertain/b.jpg" in _tree(out)
    before = {p: p.stat().st_mtime_ns for p in src.iterdir()}
    result = relabel(out, src / "b.jpg", ["dogs", "birds"], CATEGORIES)
    tree = _tree(out)
    assert {"dogs/b.jpg", "birds/b.jpg"} <= tree
    assert "uncertain/b.jpg" not in tree
    assert sorted(p.name for p in result.added) == ["b.jpg", "b.jpg"]
    assert result.removed == [out / "uncertain" / "b.jpg"]
    assert file_sha256(out / "dogs" / "b.jpg") == file_sha256(src / "b.jpg")
    assert {p: p.stat().st_mtime_ns for p in src.iterdir()} == before  # source untouched


def test_wrong_category_copy_is_taken_out(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    assert {"cats/c.jpg", "dogs/c.jpg"} <= _tree(out)
    result = relabel(out, src / "c.jpg", ["dogs"], CATEGORIES)
    assert "cats/c.jpg" not in _tree(out) and "dogs/c.jpg" in _tree(out)
    assert result.added == [] and result.removed == [out / "cats" / "c.jpg"]


def test_none_of_these_leaves_it_in_uncertain(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    relabel(out, src / "a.jpg", [], CATEGORIES)
    assert "cats/a.jpg" not in _tree(out)
    assert "uncertain/a.jpg" in _tree(out)


def test_a_new_category_gets_its_folder(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    relabel(out, src / "b.jpg", ["hamsters"], CATEGORIES)
    assert "hamsters/b.jpg" in _tree(out)


def test_an_edited_copy_is_never_deleted(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    edited = out / "cats" / "a.jpg"
    Image.new("RGB", (16, 16), (0, 0, 255)).save(edited)  # the user painted on the copy
    content = edited.read_bytes()
    result = relabel(out, src / "a.jpg", ["dogs"], CATEGORIES)
    assert edited.read_bytes() == content
    assert result.kept_changed == [edited] and result.removed == []
    assert "dogs/a.jpg" in _tree(out)


def test_relabelling_twice_changes_nothing_more(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    relabel(out, src / "b.jpg", ["dogs"], CATEGORIES)
    tree = _tree(out)
    again = relabel(out, src / "b.jpg", ["dogs"], CATEGORIES)
    assert not again.changed and _tree(out) == tree


def test_undo_after_a_correction_removes_exactly_what_is_there(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    relabel(out, src / "b.jpg", ["dogs"], CATEGORIES)
    summary = undo_run(out)
    assert _tree(out) == set()
    assert summary.kept == []  # nothing reported missing: the journal tells the truth
    assert sorted(p.name for p in src.iterdir()) == ["a.jpg", "b.jpg", "c.jpg"]


def test_moved_photo_is_fixed_from_its_copy_and_undo_puts_it_back(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path, mode="move")
    assert not (src / "b.jpg").exists()
    sha = file_sha256(out / "uncertain" / "b.jpg")
    relabel(out, src / "b.jpg", ["birds"], CATEGORIES)
    assert "birds/b.jpg" in _tree(out) and "uncertain/b.jpg" not in _tree(out)
    assert file_sha256(out / "birds" / "b.jpg") == sha
    summary = undo_run(out)
    assert file_sha256(src / "b.jpg") == sha  # the photo is back where it was
    assert summary.restored == 3 and _tree(out) == set()


def test_an_image_no_run_sorted_gets_a_run_of_its_own(tmp_path: Path) -> None:
    _, out = _sorted_output(tmp_path)
    stray = tmp_path / "stray.jpg"
    Image.new("RGB", (8, 8), (1, 1, 1)).save(stray)
    result = relabel(out, stray, ["cats"], CATEGORIES)
    assert (out / "cats" / "stray.jpg").is_file() and result.run_id is not None
    undo_run(out, result.run_id)
    assert not (out / "cats" / "stray.jpg").exists() and stray.is_file()


def test_name_collision_in_the_new_folder_gets_a_number(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    other = out / "dogs" / "b.jpg"
    other.parent.mkdir(exist_ok=True)
    Image.new("RGB", (8, 8), (5, 5, 5)).save(other)  # someone else's file, same name
    content = other.read_bytes()
    result = relabel(out, src / "b.jpg", ["dogs"], CATEGORIES)
    assert other.read_bytes() == content
    assert result.added == [out / "dogs" / "b (2).jpg"]


def test_bad_output_folder(tmp_path: Path) -> None:
    with pytest.raises(BadPathError):
        relabel(tmp_path / "nowhere", tmp_path / "a.jpg", ["cats"])


@pytest.mark.skipif(os.name == "nt", reason="chmod read-only semantics differ")
def test_read_only_source_is_fine(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    (src / "b.jpg").chmod(0o444)
    relabel(out, src / "b.jpg", ["cats"], CATEGORIES)
    assert "cats/b.jpg" in _tree(out)
    assert (src / "b.jpg").stat().st_mode & 0o777 == 0o444


def _report(out: Path) -> dict[str, list[str]]:
    import csv

    with open(out / "sorter-report.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    return {Path(r[0]).name: r for r in rows[1:]}


def test_a_correction_brings_the_report_row_up_to_date(tmp_path: Path) -> None:
    src, out = _sorted_output(tmp_path)
    before = _report(out)
    assert before["b.jpg"][1:3] == ["uncertain", "uncertain/b.jpg"]
    relabel(out, src / "b.jpg", ["dogs", "birds"], CATEGORIES)
    after = _report(out)
    assert after["b.jpg"][1] == "dogs;birds"
    assert sorted(after["b.jpg"][2].split(";")) == ["birds/b.jpg", "dogs/b.jpg"]
    assert after["b.jpg"][3:] == before["b.jpg"][3:]  # scores and status as the sort wrote them
    assert {k: v for k, v in after.items() if k != "b.jpg"} == {
        k: v for k, v in before.items() if k != "b.jpg"
    }
    relabel(out, src / "c.jpg", [], CATEGORIES)  # "none of these": back to uncertain
    assert _report(out)["c.jpg"][1:3] == ["uncertain", "uncertain/c.jpg"]


def test_report_update_leaves_a_foreign_or_missing_report_alone(tmp_path: Path) -> None:
    from sorter.core.sorting.report import update_report

    out = tmp_path / "out"
    out.mkdir()
    change = {tmp_path / "a.jpg": (["cats"], [out / "cats" / "a.jpg"])}
    assert update_report(out, change) == 0  # no report at all
    (out / "sorter-report.csv").write_text("name,size\na.jpg,3\n", encoding="utf-8")
    assert update_report(out, change) == 0
    assert (out / "sorter-report.csv").read_text(encoding="utf-8") == "name,size\na.jpg,3\n"
