"""Which model a hand-made correction will teach: the journal notes the model of every sort."""

from __future__ import annotations

import os
from pathlib import Path

from fakes import FakeModel, fake_score

from sorter.core.learning.advice import correction_notes, sorted_by
from sorter.core.sorting import session
from sorter.core.sorting.journal import Journal
from sorter.core.sorting.plan import resolve_thresholds
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
