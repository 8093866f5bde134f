"""Sorting a folder again into its earlier output updates that sort; undo takes the sort back."""

from __future__ import annotations

from fakes import fake_score, make_image, tree_hashes

from sorter.core.model.decide import UNCERTAIN
from sorter.core.sorting import session
from sorter.core.sorting.plan import Thresholds
from sorter.core.sorting.update import (
    apply_update,
    diff_update,
    earlier_sort,
    sort_runs,
    undo_sort,
)

ALL_UNCERTAIN, LOW = Thresholds(0.95, {}), Thresholds(0.4, {})


def scan(photos, out, model) -> session.ScoreResult:
    return session.scan_and_score(model, [photos], out, score=fake_score)


def first_sort(photos, out, model, th=ALL_UNCERTAIN):
    result = scan(photos, out, model)
    plan = result.plan(th)
    return plan, session.copy_images(result, plan)


def files_in(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_new_output_has_no_earlier_sort_and_is_not_created(tmp_path):
    out = tmp_path / "out"
    assert earlier_sort(out) == {}
    assert not out.exists()


def test_the_diff_names_what_moves_leaves_and_stays(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    first_sort(photos, out, fake_model)
    plan = scan(photos, out, fake_model).plan(LOW)
    update = diff_update(plan, earlier_sort(out))
    assert (update.moving, update.stay, update.new) == (6, 0, 0)
    assert update.leave == {UNCERTAIN: 6}
    assert update.arrive == {"cats": 4, "dogs": 4}
    assert update.folder_changes() == [f"{UNCERTAIN} -6", "cats +4", "dogs +4"]
    assert (
        diff_update(scan(photos, out, fake_model).plan(ALL_UNCERTAIN), earlier_sort(out)).stay == 6
    )


def test_an_update_moves_copies_and_touches_nothing_else(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    first_sort(photos, out, fake_model)
    (out / "my notes.txt").write_text("mine", encoding="utf-8")
    source_before = tree_hashes(photos)
    result = scan(photos, out, fake_model)
    plan = result.plan(LOW)
    done = apply_update(diff_update(plan, earlier_sort(out)), plan, result.scores)
    assert files_in(out / UNCERTAIN) == []  # the stale copies went
    assert files_in(out / "cats") == ["grey.png", "purple.png", "red.jpg", "same.jpg"]
    assert len(files_in(out / "dogs")) == 4
    assert (done.resort.changed, done.resort.removed, done.copy.copied) == (6, 6, 0)
    assert (out / "my notes.txt").read_text(encoding="utf-8") == "mine"
    assert tree_hashes(photos) == source_before


def test_new_images_are_copied_and_an_edited_copy_stays(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    first_sort(photos, out, fake_model)
    (out / UNCERTAIN / "red.jpg").write_bytes(b"edited by the user")
    make_image(photos / "new red.jpg", (240, 5, 5))
    result = scan(photos, out, fake_model)
    plan = result.plan(LOW)
    update = diff_update(plan, earlier_sort(out))
    assert update.new == 1
    done = apply_update(update, plan, result.scores)
    assert files_in(out / UNCERTAIN) == ["red.jpg"]  # changed since the sort: never removed
    assert "new red.jpg" in files_in(out / "cats")
    assert done.copy.copied == 1


def test_undo_of_an_updated_sort_removes_only_unchanged_copies(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    first_sort(photos, out, fake_model)
    result = scan(photos, out, fake_model)
    plan = result.plan(LOW)
    apply_update(diff_update(plan, earlier_sort(out)), plan, result.scores)
    (out / "cats" / "red.jpg").write_bytes(b"edited by the user")
    source_before = tree_hashes(photos)
    undone = undo_sort(out, sort_runs(out, [i.source for i in plan.items]))
    assert undone.kept_changed == 1
    assert undone.removed == 7  # 4 in cats (one kept) and 4 in dogs
    assert set(tree_hashes(out)) == {"cats/red.jpg", "sorter-report.csv"}
    assert tree_hashes(photos) == source_before
    assert earlier_sort(out) == {}


def test_an_update_with_another_model_hands_the_output_to_it(photos, fake_model, tmp_path):
    """The window sorting a folder again with a newer model: corrections of its copies are then
    for that model (the journal notes it), as after `sorter resort`."""
    import dataclasses
    import os

    from sorter.core.learning.advice import sorted_by

    out = tmp_path / "out"
    first_sort(photos, out, fake_model)
    newer = dataclasses.replace(fake_model, path=tmp_path / "newer.pth")
    result = scan(photos, out, newer)
    plan = result.plan(LOW)
    apply_update(diff_update(plan, earlier_sort(out)), plan, result.scores)
    found = sorted_by(out / "cats" / "red.jpg")
    assert found is not None and found.model_file == os.path.abspath(newer.path)


def test_an_output_sorted_again_scores_the_photos_that_still_have_a_copy_there(
    photos, fake_model, tmp_path
):
    """Dropping OUT itself: its photos (not its copies) are scored into OUT; a photo whose
    copy the user deleted from OUT stays out of it, and OUT is not sorted into a new folder."""
    out = tmp_path / "out"
    first_sort(photos, out, fake_model)
    assert session.is_sorted_output([out]) and not session.is_sorted_output([photos])
    assert not session.is_sorted_output([out, photos])
    (out / UNCERTAIN / "red.jpg").unlink()
    result = session.scan_dropped(fake_model, [out], tmp_path / "elsewhere", score=fake_score)
    assert result.out == out
    scored = sorted(r.path.name for r in result.scores.records)
    assert "red.jpg" not in scored and len(scored) == 5
    assert all(photos in r.path.parents for r in result.scores.records)  # the photos, not copies
    update = diff_update(result.plan(LOW), earlier_sort(out))
    assert update is not None and update.new == 0 and update.moving == 5


def test_a_sorted_folder_with_photos_of_its_own_is_sorted_like_any_folder(
    photos, fake_model, tmp_path
):
    """Copies beside images no sort placed there (say the user chose Pictures as the output):
    a drop of it sorts everything in it, as before, into the folder proposed for it."""
    out = tmp_path / "out"
    first_sort(photos, out, fake_model)
    make_image(out / "my own.jpg", (200, 30, 30))
    assert session.photos_to_sort_again([out]) is None
    result = session.scan_dropped(fake_model, [out], tmp_path / "proposed", score=fake_score)
    assert result.out == tmp_path / "proposed"
    assert len(result.scores.records) == 7  # its 6 copies and the user's own image
