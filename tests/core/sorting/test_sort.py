"""Sorting with a fake scorer: the tree, collisions, idempotent re-runs, report, dry run, plan."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from fakes import fake_score, make_image, tree_hashes

from sorter.core.errors import BadPathError
from sorter.core.model.predict import ScoredImage
from sorter.core.sorting.report import REPORT_COLUMNS
from sorter.core.sorting.sort import default_out, plan_sort, sort_folder


def run(src, out=None, model=None, **kw):
    return sort_folder(src, out, model=model, score=fake_score, **kw)


def test_default_out_is_a_sibling(tmp_path):
    assert default_out(tmp_path / "Photos") == tmp_path / "Photos (sorted)"


def test_sorts_into_category_and_uncertain_folders(photos, fake_model):
    summary = run(photos, model=fake_model)
    out = photos.with_name("Photos (sorted)")
    files = set(tree_hashes(out))
    assert files == {
        "cats/red.jpg",
        "cats/same.jpg",
        "cats/purple.png",
        "dogs/blue.png",
        "dogs/same.jpg",
        "dogs/purple.png",
        "uncertain/grey.png",
        "sorter-report.csv",
    }
    assert summary.per_category == {"cats": 3, "dogs": 3}
    assert summary.uncertain == 1
    assert summary.copied == 7 and summary.skipped_identical == 0
    assert summary.images == 6 and summary.device == "CPU"


def test_copies_are_identical_and_keep_times_and_sources_untouched(photos, fake_model):
    before = tree_hashes(photos)
    stamp = 1_500_000_000
    os.utime(photos / "red.jpg", (stamp, stamp))
    run(photos, model=fake_model)
    out = photos.with_name("Photos (sorted)")
    assert (out / "cats" / "red.jpg").read_bytes() == (photos / "red.jpg").read_bytes()
    assert (out / "cats" / "red.jpg").stat().st_mtime == stamp
    assert tree_hashes(photos) == before


def test_same_name_different_content_is_numbered(tmp_path, fake_model):
    src = tmp_path / "src"
    make_image(src / "x" / "pic.jpg", (250, 0, 0))
    make_image(src / "y" / "pic.jpg", (240, 5, 5))
    make_image(src / "z" / "pic.jpg", (230, 9, 9))
    run(src, tmp_path / "out", fake_model)
    cats = tmp_path / "out" / "cats"
    assert sorted(p.name for p in cats.iterdir()) == ["pic (2).jpg", "pic (3).jpg", "pic.jpg"]
    assert (cats / "pic.jpg").read_bytes() == (src / "x" / "pic.jpg").read_bytes()
    assert (cats / "pic (3).jpg").read_bytes() == (src / "z" / "pic.jpg").read_bytes()


def test_same_content_is_skipped_not_doubled(tmp_path, fake_model):
    src = tmp_path / "src"
    make_image(src / "x" / "pic.jpg", (250, 0, 0))
    (src / "y").mkdir()
    (src / "y" / "pic.jpg").write_bytes((src / "x" / "pic.jpg").read_bytes())
    summary = run(src, tmp_path / "out", fake_model)
    assert [p.name for p in (tmp_path / "out" / "cats").iterdir()] == ["pic.jpg"]
    assert summary.copied == 1 and summary.skipped_identical == 1


def test_never_overwrites_a_file_already_in_out(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    (out / "cats").mkdir(parents=True)
    (out / "cats" / "red.jpg").write_bytes(b"the user's own file")
    run(photos, out, fake_model)
    assert (out / "cats" / "red.jpg").read_bytes() == b"the user's own file"
    assert (out / "cats" / "red (2).jpg").read_bytes() == (photos / "red.jpg").read_bytes()


def test_rerun_is_idempotent_and_reuses_scores(photos, fake_model):
    first = run(photos, model=fake_model)
    out = first.out
    tree = tree_hashes(out)
    second = run(photos, model=fake_model)
    again = tree_hashes(out)
    assert again.pop("sorter-report.csv") != tree.pop("sorter-report.csv")  # now "already there"
    assert again == tree
    assert second.copied == 0 and second.skipped_identical == 7
    assert second.scores_reused == 6
    assert fake_score.calls[-1] == []  # nothing scored again


def test_changed_source_is_scored_again(photos, fake_model):
    run(photos, model=fake_model)
    make_image(photos / "grey.png", (10, 10, 240))  # now blue: a dog
    os.utime(photos / "grey.png", ns=(1, 1))
    summary = run(photos, model=fake_model)
    assert fake_score.calls[-1] == [photos / "grey.png"]
    assert (summary.out / "dogs" / "grey.png").exists()


def test_report_lists_every_image_with_status(photos, fake_model):
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    summary = run(photos, model=fake_model)
    with open(summary.report_path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == REPORT_COLUMNS
    by_name = {Path(r["source"]).name + Path(r["source"]).parent.name: r for r in rows}
    assert by_name["broken.jpgPhotos"]["status"] == "unreadable"
    assert by_name["broken.jpgPhotos"]["error"]
    assert by_name["grey.pngPhotos"]["categories"] == "uncertain"
    assert by_name["purple.pngPhotos"]["destinations"] == "cats/purple.png;dogs/purple.png"
    assert by_name["red.jpgPhotos"]["status"] == "copied"
    assert by_name["red.jpgPhotos"]["top_scores"].startswith("cats=0.8")
    assert summary.unreadable == 1 and len(rows) == 7


def test_dry_run_writes_nothing(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    summary = run(photos, out, fake_model, dry_run=True)
    assert not out.exists()
    assert summary.dry_run and summary.copied == 0
    assert summary.per_category == {"cats": 3, "dogs": 3}
    planned = {o.source.name: [d.as_posix() for d in o.destinations] for o in summary.outcomes}
    assert planned["grey.png"] == ["uncertain/grey.png"]


def test_threshold_argument_overrides_model_thresholds(photos, fake_model):
    fake_model.thresholds = {"cats": 0.99}
    summary = run(photos, model=fake_model, dry_run=True)
    assert "cats" not in summary.per_category
    summary = run(photos, model=fake_model, dry_run=True, default_threshold=0.01)
    assert summary.per_category == {"cats": 6, "dogs": 6}


def test_src_equal_out_refused(photos, fake_model):
    with pytest.raises(BadPathError):
        run(photos, photos, fake_model)


def test_plan_is_pure_and_redecides_from_scores(tmp_path):
    scored = [
        ScoredImage(tmp_path / "a.jpg", [0.9, 0.2]),
        ScoredImage(tmp_path / "b.jpg", [0.4, 0.45]),
    ]
    scored.append(ScoredImage(tmp_path / "c.jpg", None, "truncated"))
    plan = plan_sort(tmp_path, tmp_path / "out", scored, ["Cats?", "CON"], 0.5)
    assert not (tmp_path / "out").exists()
    assert [i.folders for i in plan.items] == [["Cats_"], ["uncertain"], []]
    assert plan.items[2].error == "truncated"
    lower = plan_sort(tmp_path, tmp_path / "out", scored, ["Cats?", "CON"], 0.3)
    assert [i.folders for i in lower.items] == [["Cats_"], ["Cats_", "CON_"], []]
    per = plan_sort(tmp_path, tmp_path / "o", scored, ["Cats?", "CON"], 0.5, {"CON": 0.1})
    assert per.items[0].folders == ["Cats_", "CON_"]


def test_plan_drops_empty_category_when_a_real_one_passes(tmp_path):
    scored = [
        ScoredImage(tmp_path / "a.jpg", [0.9, 0.8]),
        ScoredImage(tmp_path / "b.jpg", [0.1, 0.8]),
    ]
    plan = plan_sort(tmp_path, tmp_path / "o", scored, ["cats", "empty"], 0.5, None, "empty")
    assert [i.folders for i in plan.items] == [["cats"], ["empty"]]


def test_an_exclusive_model_puts_every_image_in_one_folder(photos, fake_model):
    # at 0.03 every image passes both thresholds: a multi-label model copies it twice
    multi = run(photos, photos.parent / "multi", fake_model, default_threshold=0.03)
    assert multi.per_category == {"cats": 6, "dogs": 6}
    fake_model.exclusive = True
    summary = run(photos, photos.parent / "single", fake_model, default_threshold=0.03)
    copies = set(tree_hashes(photos.parent / "single")) - {"sorter-report.csv"}
    assert len(copies) == summary.images == 6 and summary.copied == 6
    assert summary.per_category == {"cats": 4, "dogs": 2}
    with open(summary.report_path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert all(len(r["destinations"].split(";")) == 1 for r in rows)
    assert {r["destinations"] for r in rows} == copies
    assert {r["categories"] for r in rows if Path(r["source"]).name == "purple.png"} == {"cats"}


def test_plan_decides_exclusively_when_told(tmp_path):
    scored = [
        ScoredImage(tmp_path / "a.jpg", [0.6, 0.7]),
        ScoredImage(tmp_path / "b.jpg", [0.4, 0.3]),
    ]
    plan = plan_sort(tmp_path, tmp_path / "o", scored, ["cats", "dogs"], 0.5, exclusive=True)
    assert [i.folders for i in plan.items] == [["dogs"], ["uncertain"]]
    assert plan.counts() == {"cats": 0, "dogs": 1, "uncertain": 1, "unreadable": 0}


def test_output_that_cannot_be_created_is_a_clear_error(photos, fake_model, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(BadPathError, match="Cannot create the folder"):
        run(photos, blocker / "out", fake_model)


def test_disk_full_while_creating_a_folder(photos, fake_model, tmp_path, monkeypatch):
    import errno

    from sorter.core.errors import OutOfSpaceError

    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):  # folders are made by os.makedirs (long Windows paths)
        if os.path.basename(path) == "dogs":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    with pytest.raises(OutOfSpaceError):
        run(photos, tmp_path / "out", fake_model)


def test_source_deleted_between_scoring_and_copying_is_reported(photos, fake_model, tmp_path):
    def score_then_delete(model, paths, **kw):
        yield from fake_score(model, paths, **kw)
        (photos / "red.jpg").unlink()  # the user deletes it while Sorter works

    summary = sort_folder(photos, tmp_path / "out", model=fake_model, score=score_then_delete)
    assert summary.failed == 1
    failed = [o for o in summary.outcomes if o.status == "failed"]
    assert failed[0].source.name == "red.jpg" and "No such file" in failed[0].error
    assert (tmp_path / "out" / "dogs" / "blue.png").exists()
