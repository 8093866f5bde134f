"""Tests for re-sorting an earlier output: the diff, applying it, what is never touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeModel, fake_score
from PIL import Image

from sorter.core.errors import BadPathError
from sorter.core.files import file_sha256
from sorter.core.jobs import Cancelled, CancelToken
from sorter.core.sorting.resort import apply_resort, plan_resort, recorded_images
from sorter.core.sorting.sort import sort_folder
from sorter.core.sorting.undo import undo_run

CATEGORIES = ["cats", "dogs"]
OLD = {"a.jpg": [0.9, 0.1], "b.jpg": [0.2, 0.3], "c.jpg": [0.1, 0.8], "d.jpg": [0.7, 0.6]}
NEW = {"a.jpg": [0.9, 0.1], "b.jpg": [0.1, 0.9], "c.jpg": [0.8, 0.1], "d.jpg": [0.1, 0.2]}


def _model(scores: dict) -> FakeModel:
    return FakeModel(categories=CATEGORIES, scores_by_name=scores)


def _tree(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*.jpg") if ".sorter" not in p.parts}


@pytest.fixture
def sorted_out(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "photos"
    src.mkdir()
    for i, name in enumerate(OLD):
        Image.new("RGB", (12, 12), (i * 50, 20, 20)).save(src / name)
    out = tmp_path / "sorted"
    sort_folder(src, out, model=_model(OLD), score=fake_score)
    return src, out


def test_recorded_images_know_where_each_copy_is(sorted_out) -> None:
    _src, out = sorted_out
    found = {r.source.name: sorted(r.folders) for r in recorded_images(out)}
    assert found == {
        "a.jpg": ["cats"],
        "b.jpg": ["uncertain"],
        "c.jpg": ["dogs"],
        "d.jpg": ["cats", "dogs"],
    }


def test_plan_lists_only_the_images_that_would_move(sorted_out) -> None:
    _src, out = sorted_out
    before = _tree(out)
    plan = plan_resort(out, _model(NEW), score=fake_score)
    assert plan.headline() == "3 images would change folder (of 4)."
    moves = {c.source.name: (c.old_folders, c.new_folders) for c in plan.changes}
    assert moves == {
        "b.jpg": (["uncertain"], ["dogs"]),
        "c.jpg": (["dogs"], ["cats"]),
        "d.jpg": (["cats", "dogs"], ["uncertain"]),
    }
    assert _tree(out) == before  # planning writes nothing


def test_apply_moves_images_and_keeps_sources(sorted_out) -> None:
    src, out = sorted_out
    hashes = {p.name: file_sha256(p) for p in src.iterdir()}
    summary = apply_resort(plan_resort(out, _model(NEW), score=fake_score))
    assert summary.changed == 3 and summary.errors == []
    assert _tree(out) == {"cats/a.jpg", "dogs/b.jpg", "cats/c.jpg", "uncertain/d.jpg"}
    assert {p.name: file_sha256(p) for p in src.iterdir()} == hashes
    again = plan_resort(out, _model(NEW), score=fake_score)
    assert again.changes == []


def test_an_exclusive_model_resorts_a_two_folder_image_into_one(sorted_out) -> None:
    _src, out = sorted_out
    single = FakeModel(categories=CATEGORIES, scores_by_name=OLD, exclusive=True)
    plan = plan_resort(out, single, score=fake_score)
    moves = {c.source.name: (c.old_folders, c.new_folders) for c in plan.changes}
    assert moves == {"d.jpg": (["cats", "dogs"], ["cats"])}
    apply_resort(plan)
    assert _tree(out) == {"cats/a.jpg", "uncertain/b.jpg", "dogs/c.jpg", "cats/d.jpg"}


def test_thresholds_follow_the_sorting_rule(sorted_out) -> None:
    _, out = sorted_out
    plan = plan_resort(out, _model(OLD), default_threshold=0.95, score=fake_score)
    assert {c.source.name for c in plan.changes} == {"a.jpg", "c.jpg", "d.jpg"}
    plan = plan_resort(out, _model(OLD), thresholds={"dogs": 0.9}, score=fake_score)
    assert {c.source.name for c in plan.changes} == {"c.jpg", "d.jpg"}


def test_an_edited_copy_survives_a_resort(sorted_out) -> None:
    _, out = sorted_out
    edited = out / "dogs" / "c.jpg"
    Image.new("RGB", (12, 12), (0, 255, 0)).save(edited)
    content = edited.read_bytes()
    summary = apply_resort(plan_resort(out, _model(NEW), score=fake_score))
    assert edited.read_bytes() == content
    assert summary.kept_changed == [edited]
    assert "cats/c.jpg" in _tree(out)


def test_after_a_move_run_the_copies_are_scored(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    for i, name in enumerate(OLD):
        Image.new("RGB", (12, 12), (i * 50, 20, 20)).save(src / name)
    out = tmp_path / "sorted"
    sort_folder(src, out, model=_model(OLD), score=fake_score, mode="move")
    assert list(src.iterdir()) == []
    apply_resort(plan_resort(out, _model(NEW), score=fake_score))
    assert _tree(out) == {"cats/a.jpg", "dogs/b.jpg", "cats/c.jpg", "uncertain/d.jpg"}
    undo_run(out)  # the photos go back where they came from
    assert sorted(p.name for p in src.iterdir()) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]


def test_cancel_before_scoring_writes_nothing(sorted_out) -> None:
    _, out = sorted_out
    before = _tree(out)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        plan_resort(out, _model(NEW), score=fake_score, cancel=token)
    plan = plan_resort(out, _model(NEW), score=fake_score)
    with pytest.raises(Cancelled):
        apply_resort(plan, cancel=token)
    assert _tree(out) == before


def test_a_folder_that_was_never_sorted_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadPathError, match="not a sorted output"):
        plan_resort(tmp_path, _model(NEW), score=fake_score)


def test_a_resort_rewrites_the_report_once_for_all_moved_images(sorted_out, monkeypatch) -> None:
    import csv

    from sorter.core.sorting import relabel as relabel_module

    _src, out = sorted_out
    batches = []
    real = relabel_module.update_report

    def counted(where, changes):
        batches.append(len(changes))
        return real(where, changes)

    monkeypatch.setattr(relabel_module, "update_report", counted)
    apply_resort(plan_resort(out, _model(NEW), score=fake_score))
    assert batches == [3]  # b, c and d moved: one rewrite, not one per image
    with open(out / "sorter-report.csv", newline="", encoding="utf-8-sig") as f:
        rows = {Path(r[0]).name: r[1:3] for r in list(csv.reader(f))[1:]}
    assert rows == {
        "a.jpg": ["cats", "cats/a.jpg"],
        "b.jpg": ["dogs", "dogs/b.jpg"],
        "c.jpg": ["cats", "cats/c.jpg"],
        "d.jpg": ["uncertain", "uncertain/d.jpg"],
    }
