"""Runs into one OUT that lean on each other: no undo, resort or move may lose a photo."""

from __future__ import annotations

import os
from pathlib import Path

from fakes import fake_score, make_image, photo_hashes, tree_hashes

from sorter.core.sorting.relabel import relabel
from sorter.core.sorting.resort import apply_resort, plan_resort
from sorter.core.sorting.sort import sort_folder
from sorter.core.sorting.undo import undo_run


def run(src, out, model, **kw):
    return sort_folder(src, out, model=model, score=fake_score, **kw)


def missing_bytes(before: dict[str, str], *roots: Path) -> set[str]:
    """Original photos (by path) whose bytes no longer exist anywhere under roots."""
    present = {h for root in roots for h in tree_hashes(root).values()}
    return {path for path, sha in before.items() if sha not in present}


def test_undo_of_a_copy_run_keeps_the_copies_a_later_move_relies_on(photos, fake_model, tmp_path):
    before = tree_hashes(photos)
    out = tmp_path / "out"
    run(photos, out, fake_model)
    moved = run(photos, out, fake_model, mode="move")  # every photo is already there
    assert moved.moved == 6 and tree_hashes(photos) == {}
    first = undo_run(out, 1)
    assert missing_bytes(before, photos, out) == set()
    handed = [p for p, why in first.kept if "run 2" in why]
    assert len(handed) == 7  # purple is in two folders
    second = undo_run(out, 2)
    assert second.restored == 6 and second.not_restored == []
    assert tree_hashes(photos) == before
    assert photo_hashes(out) == {}  # both runs undone: OUT holds no photo any more
    assert sorted(p.name for p in out.iterdir()) == [".sorter", "sorter-report.csv"]


def test_undo_in_the_natural_order_still_restores_everything(photos, fake_model, tmp_path):
    before = tree_hashes(photos)
    out = tmp_path / "out"
    run(photos, out, fake_model)
    run(photos, out, fake_model, mode="move")
    assert undo_run(out).run_id == 2  # the latest run that wrote (it removed sources)
    assert tree_hashes(photos) == before
    undo_run(out)
    assert tree_hashes(photos) == before and photo_hashes(out) == {}


def test_a_link_run_then_a_move_then_undo_of_the_link_run(photos, fake_model, tmp_path):
    before = tree_hashes(photos)
    out = tmp_path / "out"
    run(photos, out, fake_model, mode="link")
    run(photos, out, fake_model, mode="move")
    undo_run(out, 1)
    assert missing_bytes(before, photos, out) == set()
    undo_run(out, 2)
    assert tree_hashes(photos) == before and photo_hashes(out) == {}


def test_a_twin_moved_from_another_folder_keeps_its_copy(fake_model, tmp_path):
    """album1 is copied, album2 (the same photo) moved onto that copy; undo album1's run."""
    first, second = tmp_path / "album1", tmp_path / "album2"
    make_image(first / "IMG_0001.jpg", (220, 20, 20))
    second.mkdir()
    (second / "IMG_0001.jpg").write_bytes((first / "IMG_0001.jpg").read_bytes())
    before = tree_hashes(second)
    out = tmp_path / "out"
    run(first, out, fake_model)
    assert run(second, out, fake_model, mode="move").skipped_identical == 1
    undo_run(out, 1)
    assert (out / "cats" / "IMG_0001.jpg").is_file()
    undo_run(out, 2)
    assert tree_hashes(second) == before and photo_hashes(out) == {}


def test_move_refuses_when_the_copy_it_found_is_gone(photos, fake_model, tmp_path, monkeypatch):
    """The file found "already there" vanishes before the source would be removed."""
    import sorter.core.sorting.apply as apply

    out = tmp_path / "out"
    run(photos, out, fake_model)
    original = apply._remove_source

    def remove_then_lose_copy(run_, seq, source, ops):
        for dest in (out / "cats" / "red.jpg", out / "cats" / "purple.png"):
            dest.unlink(missing_ok=True)
        return original(run_, seq, source, ops)

    monkeypatch.setattr(apply, "_remove_source", remove_then_lose_copy)
    summary = run(photos, out, fake_model, mode="move")
    assert (photos / "red.jpg").is_file() and (photos / "purple.png").is_file()
    assert summary.failed >= 2


def test_relabel_keeps_a_shared_copy_a_moved_twin_needs(fake_model, tmp_path):
    """album1 is copied, album2 (the same photo) moved onto that copy; album1 is corrected."""
    first, second = tmp_path / "album1", tmp_path / "album2"
    make_image(first / "IMG_0001.jpg", (220, 20, 20))
    second.mkdir()
    (second / "IMG_0001.jpg").write_bytes((first / "IMG_0001.jpg").read_bytes())
    before = tree_hashes(second)
    out = tmp_path / "out"
    run(first, out, fake_model)
    run(second, out, fake_model, mode="move")
    result = relabel(out, first / "IMG_0001.jpg", ["dogs"], ["cats", "dogs"])
    assert (out / "cats" / "IMG_0001.jpg").is_file()  # album2's photo lives only there
    assert result.kept_shared == [out / "cats" / "IMG_0001.jpg"] and result.removed == []
    undo_run(out, 1)
    undo_run(out, 2)
    assert tree_hashes(second) == before and photo_hashes(out) == {}


def twins(root: Path) -> Path:
    """album1/IMG_0001.jpg and album2/IMG_0001.jpg: the same red photo, the same name."""
    make_image(root / "album1" / "IMG_0001.jpg", (220, 20, 20))
    (root / "album2").mkdir()
    (root / "album2" / "IMG_0001.jpg").write_bytes((root / "album1" / "IMG_0001.jpg").read_bytes())
    make_image(root / "album2" / "other.jpg", (20, 20, 220))
    return root


def test_resort_of_moved_twins_then_undo_restores_both(fake_model, tmp_path):
    src = twins(tmp_path / "src")
    before = tree_hashes(src)
    out = tmp_path / "out"
    run(src, out, fake_model, mode="move", default_threshold=0.999)  # all uncertain
    plan = plan_resort(out, fake_model, score=fake_score)
    changed = sorted(c.source.relative_to(src).as_posix() for c in plan.changes)
    assert changed == ["album1/IMG_0001.jpg", "album2/IMG_0001.jpg", "album2/other.jpg"]
    apply_resort(plan)
    assert missing_bytes(before, src, out) == set()
    result = undo_run(out)
    assert tree_hashes(src) == before
    assert result.restored == 3 and result.not_restored == []
    for path, _why in result.kept:
        assert os.path.lexists(path), f"undo says it kept {path}, which does not exist"


def test_relabel_keeps_a_shared_copy_its_twin_in_the_same_run_needs(fake_model, tmp_path):
    src = twins(tmp_path / "src")
    before = tree_hashes(src)
    out = tmp_path / "out"
    run(src, out, fake_model, mode="move", default_threshold=0.999)
    relabel(out, src / "album1" / "IMG_0001.jpg", ["cats"], ["cats", "dogs"])
    shared = out / "uncertain" / "IMG_0001.jpg"
    assert shared.is_file()  # album2's photo still lives only here
    undo_run(out)
    assert tree_hashes(src) == before


def test_undo_reports_only_files_that_exist(fake_model, tmp_path):
    """A moved photo that cannot go back is reported as such, not as a file 'kept'."""
    src = twins(tmp_path / "src")
    out = tmp_path / "out"
    run(src, out, fake_model, mode="move")
    (out / "cats" / "IMG_0001.jpg").write_bytes(b"edited")  # both twins' only copy
    result = undo_run(out)
    for path, _why in result.kept:
        assert os.path.lexists(path), f"undo says it kept {path}, which does not exist"
    assert {Path(p).name for p, _ in result.not_restored} == {"IMG_0001.jpg"}
    assert len(result.not_restored) == 2


def test_undo_of_a_copy_run_keeps_a_copy_whose_source_was_deleted(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    run(photos, out, fake_model)
    red = (photos / "red.jpg").read_bytes()
    (photos / "red.jpg").unlink()  # the user trusted the sorted copy
    result = undo_run(out)
    assert (out / "cats" / "red.jpg").read_bytes() == red
    assert dict(result.kept)[str(out / "cats" / "red.jpg")].endswith("so this copy stays")
    assert result.removed == 6


def test_a_photo_put_back_never_shares_its_file_with_a_copy_left_in_out(fake_model, tmp_path):
    """album2's twin was moved onto album1's copy; once back it must not be that same file."""
    first, second = tmp_path / "album1", tmp_path / "album2"
    make_image(first / "IMG_0001.jpg", (220, 20, 20))
    second.mkdir()
    (second / "IMG_0001.jpg").write_bytes((first / "IMG_0001.jpg").read_bytes())
    out = tmp_path / "out"
    run(first, out, fake_model)
    run(second, out, fake_model, mode="move")
    undo_run(out, 2)
    assert (out / "cats" / "IMG_0001.jpg").is_file()  # run 1's copy stays
    assert not os.path.samefile(second / "IMG_0001.jpg", out / "cats" / "IMG_0001.jpg")
