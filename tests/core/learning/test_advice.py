"""Which model a hand-made correction will teach: the journal notes the model of every sort."""

from __future__ import annotations

import os
from pathlib import Path

from fakes import FakeModel, fake_score

from sorter.core.learning.advice import correction_notes, sorted_by
from sorter.core.sorting import session
from sorter.core.sorting.journal import Journal
from sorter.core.sorting.plan import resolve_thresholds
from sorter.core.sorting.resort import apply_resort, plan_resort
from sorter.core.sorting.sort import sort_folder


def _copies(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*.*") if p.parent != out and ".sorter" not in p.parts)


def test_a_command_line_sort_notes_its_model(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    sort_folder(photos, out, model=fake_model, score=fake_score)
    copies = _copies(out)
    assert copies
    for copy in copies:
        found = sorted_by(copy)
        assert found is not None
        assert found.model_file == os.path.abspath(fake_model.path)
        assert found.categories == list(fake_model.categories)
    assert sorted_by(photos / "red.jpg") is None  # a source, not a copy in an output
    assert sorted_by(out / "nothing-here.png") is None


def test_a_window_sort_notes_its_model(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    result = session.scan_and_score(fake_model, [photos], out, score=fake_score)
    session.copy_images(result, result.plan(resolve_thresholds(fake_model)))
    with Journal(out) as journal:
        (run,) = journal.runs()
        assert journal.run_info(run.id)["model_file"] == os.path.abspath(fake_model.path)


def test_an_output_sorted_before_models_were_noted_still_names_its_categories(
    photos, fake_model, tmp_path
):
    out = tmp_path / "out"
    sort_folder(photos, out, model=FakeModel(None), score=fake_score)  # no file to note
    found = sorted_by(_copies(out)[0])
    assert found is not None and found.model_file is None
    notes = correction_notes(_copies(out)[0], [], "default", ["animals", "vehicles"])
    assert len(notes) == 1 and "was sorted by another model" in notes[0]
    assert "`sorter models use ITS_FILE.pth`" in notes[0]


def test_notes_name_the_way_out_and_stay_quiet_when_all_is_as_expected(
    photos, fake_model, tmp_path
):
    out = tmp_path / "out"
    sort_folder(photos, out, model=fake_model, score=fake_score)
    copy = _copies(out)[0]
    own = list(fake_model.categories)
    assert correction_notes(copy, [own[0]], "v2", own) == []
    assert correction_notes(photos / "red.jpg", ["cars"], "v2", ["cars", "boats"]) == []

    other = ["food & drink", "kitchen & household"]
    first, second, third, fourth = correction_notes(copy, ["food", "kitchen", "zebra"], "v3", other)
    assert first.startswith(f"{copy.name} was sorted by fake-model.pth (categories: ")
    assert "not by the current one, version v3" in first
    assert f'`sorter retrain --model "{os.path.abspath(fake_model.path)}"`' in first
    assert second.endswith("Did you mean 'food & drink'?")
    assert third.endswith("Did you mean 'kitchen & household'?")
    two = correction_notes(
        photos / "red.jpg", ["cars", "boats"], "default", ["cars", "boats"], True
    )
    assert two == [
        "The current model (the built-in default model) is single-label, one folder per image: "
        "a correction with 2 categories teaches it a share of each. To teach it one, name that "
        "one alone."
    ]
    assert correction_notes(photos / "red.jpg", ["cars", "boats"], "v1", ["cars", "boats"]) == []
    assert fourth == (
        "'zebra' is not a category of version v3, so the next retrain adds it as a new category."
    )


def test_a_resort_hands_the_output_to_its_model(tmp_path):
    """After `sorter resort` with a model of more categories, a correction of a copy there is
    for that model (no note), and its kept images count for it; before, both were the first
    model's."""
    from fakes import noisy_image

    from sorter.core.learning.kept import kept_images

    src = tmp_path / "photos"
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        noisy_image(src / name, (200, 20 * i, 20), i)
    first = FakeModel(tmp_path / "first.pth", ["cats", "dogs"], scores_by_name={
        "a.png": [0.9, 0.1], "b.png": [0.1, 0.9], "c.png": [0.3, 0.2]})  # fmt: skip
    later = FakeModel(tmp_path / "later.pth", ["cats", "dogs", "birds"], scores_by_name={
        "a.png": [0.9, 0.1, 0.0], "b.png": [0.1, 0.9, 0.0], "c.png": [0.1, 0.1, 0.9]})  # fmt: skip
    out = tmp_path / "out"
    sort_folder(src, out, model=first, score=fake_score)
    copy = out / "cats" / "a.png"
    (note,) = correction_notes(copy, ["dogs"], "v1", later.categories)
    assert note.startswith("a.png was sorted by first.pth")
    assert len(kept_images([out], later.categories, set())) == 2  # a and b: a line of the first

    plan = plan_resort(out, later, score=fake_score)
    assert [c.source.name for c in plan.changes] == ["c.png"]
    apply_resort(plan)
    found = sorted_by(copy)
    assert found is not None and found.categories == later.categories
    assert found.model_file == os.path.abspath(later.path)
    assert correction_notes(copy, ["dogs"], "v1", later.categories) == []
    assert kept_images([out], first.categories, set()) == []  # now a model with birds sorts it
    assert len(kept_images([out], later.categories, set())) == 2
    assert sorted_by(out / "birds" / "c.png") == found


def test_a_declined_or_partial_resort_leaves_the_first_model_in_charge(tmp_path):
    """Only photos the re-sort decided again change hands: a run with others keeps its model."""
    from fakes import noisy_image

    from sorter.core.sorting.resort import ResortPlan, record_resort

    src = tmp_path / "photos"
    noisy_image(src / "a.png", (200, 20, 20), 1)
    noisy_image(src / "b.png", (20, 20, 200), 2)
    first = FakeModel(tmp_path / "first.pth", scores_by_name={"a.png": [0.9, 0.1],
                                                            "b.png": [0.1, 0.9]})  # fmt: skip
    out = tmp_path / "out"
    sort_folder(src, out, model=first, score=fake_score)
    plan_resort(out, FakeModel(tmp_path / "later.pth", scores_by_name=first.scores_by_name),
                score=fake_score)  # planned, never applied  # fmt: skip
    assert sorted_by(out / "cats" / "a.png").model_file == os.path.abspath(first.path)
    partial = ResortPlan(out, tmp_path / "later.pth", ["cats", "dogs"],
                         scored=[src / "a.png"])  # fmt: skip
    record_resort(partial)
    assert sorted_by(out / "cats" / "a.png").model_file == os.path.abspath(first.path)
    record_resort(ResortPlan(out, tmp_path / "later.pth", ["cats", "dogs"],
                             scored=[src / "a.png", src / "b.png"]))  # fmt: skip
    assert sorted_by(out / "dogs" / "b.png").model_file == str(tmp_path / "later.pth")


def test_a_photo_sorted_by_a_model_since_deleted_is_not_sent_to_it(photos, fake_model, tmp_path):
    out = tmp_path / "out"
    sort_folder(photos, out, model=fake_model, score=fake_score)
    Path(fake_model.path).unlink()  # e.g. `sorter models delete v2`
    (note,) = correction_notes(_copies(out)[0], [], "v3", ["food & drink"])
    assert note.endswith(
        "`sorter retrain` improves the current model: the model that sorted this photo no "
        "longer exists (deleted or moved)."
    )
    assert "sorter models use" not in note
