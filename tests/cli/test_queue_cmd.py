"""Tests for `sorter queue ...` and `sorter models ...` through the real CLI entry point."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from fakes import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    make_training_folder,
    noisy_image,
    tiny_meta,
    train_tiny,
)
from PIL import Image

from sorter.cli import main
from sorter.cli.queue_cmd import parse_labels
from sorter.core.learning.manage import EXAMPLES_JUDGED
from sorter.core.learning.queue import CorrectionQueue
from sorter.core.learning.versions import add_version
from sorter.core.model.meta import ModelMeta
from sorter.core.settings import load_settings


def _photo(path: Path, color=(10, 200, 10)) -> Path:
    Image.new("RGB", (64, 48), color).save(path)
    return path


def test_parse_labels() -> None:
    assert parse_labels("cats, dogs,,cats") == ["cats", "dogs"]
    assert parse_labels("none") == []
    assert parse_labels(" NONE ") == []


def test_queue_add_list_remove_clear(tmp_path: Path, capsys) -> None:
    a = _photo(tmp_path / "a.jpg")
    b = _photo(tmp_path / "b.jpg", color=(1, 2, 3))
    assert main(["queue", "add", str(a), "--labels", "cats,dogs"]) == 0
    assert "Queued correction 1: a.jpg -> cats, dogs" in capsys.readouterr().out
    assert main(["queue", "add", str(b), "--labels", "none"]) == 0
    assert "none of the categories" in capsys.readouterr().out
    queue = CorrectionQueue()
    assert [c.labels for c in queue.list()] == [["cats", "dogs"], []]
    assert queue.list()[0].model_version == "default"

    assert main(["queue", "list"]) == 0
    out = capsys.readouterr().out
    assert "cats, dogs" in out and "(none)" in out and "2 correction(s) waiting" in out
    assert main(["queue", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["labels"] for r in rows] == [["cats", "dogs"], []]

    assert main(["queue", "remove", "1"]) == 0
    assert [c.id for c in queue.list()] == [2]
    assert main(["queue", "remove", "1"]) == 2  # gone already: one clear line, exit 2
    assert "no correction number 1" in capsys.readouterr().err
    assert main(["queue", "clear"]) == 0
    assert queue.pending_count() == 0


def test_queue_add_of_a_bad_image_says_so(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.png"
    junk.write_text("hello")
    assert main(["queue", "add", str(junk), "--labels", "a"]) == 2
    assert "junk.png" in capsys.readouterr().err
    assert main(["queue", "add", str(tmp_path / "gone.jpg"), "--labels", "a"]) == 2


def test_queue_add_needs_a_label(tmp_path: Path) -> None:
    assert main(["queue", "add", str(_photo(tmp_path / "a.jpg")), "--labels", " , "]) == 2
    assert CorrectionQueue().pending_count() == 0


def _meta(acc: float, **more: Any) -> ModelMeta:
    training = {"metrics": {"accuracy_multi": acc, **more}}
    return tiny_meta(["cats", "dogs"], input_size=64, training=training)


def test_models_list_and_use(capsys) -> None:
    v1 = add_version(_meta(0.81), {"w": torch.zeros(1)})  # an older version: accuracy only
    add_version(_meta(0.86), {"w": torch.ones(1)})
    retrained = _meta(0.956, exact_match=0.776, evaluated_on="original validation", images=214)
    add_version(retrained, {"w": torch.ones(1)})
    examples = _meta(0.9, exact_match=0.667, evaluated_on=EXAMPLES_JUDGED, images=60)
    add_version(examples, {"w": torch.ones(1)})  # as the window's New model stores one
    assert main(["models", "use", "v1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == str(v1.path)
    assert load_settings().model_path == str(v1.path)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line[2:].split()[0]: line for line in out.splitlines() if line[2:].strip()}
    assert lines["v1"].startswith("*") and "accuracy_multi 0.810" in lines["v1"]
    assert not lines["v2"].startswith("*") and "0.860" in lines["v2"]
    assert "exact 0.776 (214 training images)" in lines["v3"] and "0.956" not in lines["v3"]
    assert "exact 0.667 (60 example photos, out of fold)" in lines["v4"]
    column = out.splitlines()[0].index("CATEGORIES")  # the longest figure does not shift it
    assert all(lines[v].index("cats, dogs") == column for v in ("v1", "v3", "v4"))
    assert "default" in lines
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["current"]) for v in listed] == [
        ("default", False),
        ("v1", True),
        ("v2", False),
        ("v3", False),
        ("v4", False),
    ]
    assert main(["models", "use", "default"]) == 0
    assert load_settings().model_path is None


def test_models_name_gives_a_version_a_name_that_list_shows(capsys) -> None:
    add_version(_meta(0.81), {"w": torch.zeros(1)}, note="trained on 60 example photos in Ex")
    assert main(["models", "name", "1", "Shop furniture"]) == 0
    assert capsys.readouterr().out == 'Model v1 is now called "Shop furniture".\n'
    assert main(["models", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x[2:].startswith("v1 "))
    assert line.endswith('(named "Shop furniture"; trained on 60 example photos in Ex)')
    assert main(["models", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[1]["title"] == "Shop furniture"
    assert main(["models", "name", "v1", ""]) == 0
    assert capsys.readouterr().out == "Model v1 has no name of its own now.\n"
    assert main(["models", "name", "default", "Mine"]) == 2
    assert "built-in model keeps its name" in capsys.readouterr().err


def test_models_delete_asks_first_and_refuses_the_model_in_use(capsys, monkeypatch) -> None:
    from sorter.core.learning.versions import list_versions

    add_version(_meta(0.81), {"w": torch.zeros(1)})
    add_version(_meta(0.82), {"w": torch.zeros(1000)})
    assert main(["models", "name", "v2", "Old try"]) == 0
    assert main(["models", "use", "v1"]) == 0
    capsys.readouterr()
    assert main(["models", "delete", "v1", "--yes"]) == 2
    assert "v1 is the one in use" in capsys.readouterr().err
    assert main(["models", "delete", "default"]) == 2
    assert "cannot be deleted" in capsys.readouterr().err
    assert main(["models", "delete", "v2"]) == 1  # no terminal to answer: nothing deleted
    kept = capsys.readouterr().out
    assert re.fullmatch(
        r'Kept model v2 "Old try" \(\d KB\); --yes deletes it without asking\.\n', kept
    )
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: "y")
    assert main(["models", "delete", "2"]) == 0
    assert re.fullmatch(r'Deleted model v2 "Old try" \(\d KB\)\.\n', capsys.readouterr().out)
    assert [v.name for v in list_versions(include_default=False)] == ["v1"]


def test_models_add_stores_a_model_file_as_a_version(tmp_path, capsys) -> None:
    from sorter.core.learning.manage import export_version
    from sorter.core.learning.versions import list_versions
    from sorter.core.model.modelfile import save_model

    add_version(_meta(0.81), {"w": torch.zeros(1)})
    shared = tmp_path / "From the office.pth"
    save_model(shared, _meta(0.9), {"w": torch.ones(1)})
    assert main(["models", "add", str(shared)]) == 0
    assert capsys.readouterr().out == (
        'Added From the office.pth as model v2 "From the office".\n'
        "Make it the current model with: sorter models use v2\n"
    )
    assert main(["models", "add", str(export_version("v1", tmp_path / "Mine.pth"))]) == 0
    assert capsys.readouterr().out == (
        "Mine.pth is model v1 already: nothing was added.\n"
        "Make it the current model with: sorter models use v1\n"
    )
    save_model(tmp_path / "Other.pth", _meta(0.7), {"w": torch.full((1,), 2.0)})
    assert main(["models", "add", str(tmp_path / "Other.pth"), "--name", "Shop"]) == 0
    assert list_versions(include_default=False)[-1].title == "Shop"
    (tmp_path / "bad.pth").write_bytes(b"nope")
    assert main(["models", "add", str(tmp_path / "bad.pth")]) == 2
    assert "bad.pth" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["v7", "banana"])
def test_models_use_unknown(bad: str, capsys) -> None:
    assert main(["models", "use", bad]) == 2
    assert "no model version" in capsys.readouterr().err


# ---- the whole loop: train, sort, correct through the CLI, retrain, re-sort ---------------------


def _pngs(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.png")} if folder.is_dir() else set()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("redblue")
    return train_tiny(make_training_folder(root / "data"), root / "model.pth")


@pytest.fixture
def fast_retrain(monkeypatch) -> None:
    """Two folds and fewer head epochs: the same code path in a fraction of the time."""
    monkeypatch.setattr("sorter.core.learning.quick.FOLDS", 2)
    monkeypatch.setattr("sorter.core.learning.quick.HEAD_EPOCHS", 15)
    monkeypatch.setattr("sorter.core.learning.quick.MIN_STEPS", 30)


@pytest.mark.slow
def test_corrections_make_the_next_sort_right(
    model: Path, tmp_path: Path, capsys, fast_retrain
) -> None:
    from sorter.core.model.modelfile import load_model
    from sorter.core.sorting.sort import sort_folder

    photos = tmp_path / "photos"
    yellows = [noisy_image(photos / f"yellow{i}.png", YELLOW, 50 + i) for i in range(8)]
    noisy_image(photos / "red-new.png", RED, 70)
    noisy_image(photos / "blue-new.png", BLUE, 71)
    out = tmp_path / "sorted"
    sort_folder(photos, out, model=load_model(model, device="cpu"))
    assert not (out / "yellow").exists()  # the model has never heard of yellow

    for path in yellows:
        assert main(["queue", "add", str(path), "--labels", "yellow"]) == 0
    capsys.readouterr()
    assert main(["retrain", "--model", str(model)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    current = Path(lines[-1])  # the last line is the model now current
    assert current.is_file() and current.parent.name == "v1"
    assert any(line.startswith("Promoted v1") for line in lines)
    assert "`sorter resort OUT`" in lines[-2]  # the way to fix what the old model sorted
    assert "held-out corrections (8 images), cross-validated" in lines

    assert main(["resort", str(out), "--yes"]) == 0
    assert "image" in capsys.readouterr().out
    assert _pngs(out / "yellow") == {p.name for p in yellows}
    assert "red-new.png" in _pngs(out / "red") and "blue-new.png" in _pngs(out / "blue")
    for folder in ("blue", "red", "uncertain"):
        assert not _pngs(out / folder) & {p.name for p in yellows}
    assert sorted(p.name for p in photos.iterdir()) == sorted(
        [p.name for p in yellows] + ["red-new.png", "blue-new.png"]
    )  # sources untouched


@pytest.mark.slow
def test_retrain_json(model: Path, tmp_path: Path, capsys, fast_retrain) -> None:
    for i in range(4):
        assert main(["queue", "add", str(noisy_image(tmp_path / f"g{i}.png", GREEN, i)),
                     "--labels", "green"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["retrain", "--model", str(model), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["promoted"] is True and report["version"] == "v1"
    assert report["current_model"] == load_settings().model_path
    assert report["new_categories"] == ["green"] and report["corrections_used"] == 4
    assert (
        "New category, named only by corrections (the new model adds it): green (4 corrections)."
        in report["notes"]
    )


def _notes(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("note: ")]


def test_queue_add_says_which_model_a_correction_will_teach(
    model: Path, tmp_path: Path, capsys
) -> None:
    """A photo sorted with `--model` while another model is current, and a label the current
    model lacks, each get a note naming the way out; once that model is current, neither."""
    photos = tmp_path / "photos"
    noisy_image(photos / "r.png", RED, 7)
    noisy_image(photos / "b.png", BLUE, 8)
    out = tmp_path / "sorted"
    assert main(["sort", str(photos), "--out", str(out), "--model", str(model)]) == 0
    copy = next(p for p in out.rglob("r.png") if ".sorter" not in p.parts)
    capsys.readouterr()

    assert main(["queue", "add", str(copy), "--labels", "red"]) == 0
    notes = _notes(capsys.readouterr().out)
    assert len(notes) == 2
    assert "r.png was sorted by model.pth (categories: blue, red)" in notes[0]
    assert "not by the current one, the built-in default model" in notes[0]
    assert f'sorter models use "{os.path.abspath(model)}"' in notes[0]
    assert f'sorter retrain --model "{os.path.abspath(model)}"' in notes[0]
    assert notes[1] == (
        "note: 'red' is not a category of the built-in default model, so the next retrain "
        "adds it as a new category."
    )
    assert main(["queue", "add", str(photos / "b.png"), "--labels", "Animals"]) == 0
    notes = _notes(capsys.readouterr().out)  # a source photo: not a copy any sort made
    assert len(notes) == 1 and notes[0].endswith("Did you mean 'animals'?")

    assert main(["models", "use", str(model)]) == 0
    assert load_settings().model_path == os.path.abspath(model)
    capsys.readouterr()
    assert main(["queue", "add", str(copy), "--labels", "blue"]) == 0
    (stays,) = _notes(capsys.readouterr().out)  # only that --fix-output would move the copy
    assert stays.startswith("note: the copies of r.png stay in red")
    assert [c.labels for c in CorrectionQueue().list()] == [["Animals"], ["blue"]]


def test_models_use_a_file_checks_it_first(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a model")
    assert main(["models", "use", str(junk)]) == 2
    assert "junk.pth" in capsys.readouterr().err
    assert main(["models", "use", str(tmp_path / "gone.pth")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["models", "use", str(tmp_path)]) == 2
    assert "is a folder, not a model file" in capsys.readouterr().err
    assert load_settings().model_path is None


def test_retrain_with_an_empty_queue_says_so(tmp_path: Path, capsys) -> None:
    assert main(["retrain"]) == 2
    assert "no corrections waiting" in capsys.readouterr().err


def test_resort_of_a_plain_folder_says_so(tmp_path: Path, capsys) -> None:
    model = tmp_path / "m.pth"
    from fakes import make_tiny_model

    make_tiny_model(model)
    assert main(["resort", str(tmp_path), "--model", str(model)]) == 2
    assert "not a sorted output" in capsys.readouterr().err


def test_a_refused_retrain_names_the_flag_that_overrules_it(tmp_path, capsys, monkeypatch):
    """The core's reason carries no command-line advice (the window shows it too); the CLI
    adds the --yes hint, and the last line stays the model file now current."""
    from fakes import make_tiny_model, refused_retrain

    from sorter.core.learning import retrain as core_retrain

    model = make_tiny_model(tmp_path / "tiny.pth")
    reason = "the new model would forget 1 category (cars); correct some images of them"
    monkeypatch.setattr(core_retrain, "retrain", lambda *a, **k: refused_retrain(model, [], reason))
    assert main(["retrain", "--model", str(model)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-3] == f"Kept the current model ({model.name}): {reason}."
    assert lines[-2] == "To use the new model anyway, run this again with --yes."
    assert lines[-1] == str(model)


def test_a_resort_hands_the_output_to_its_model_even_when_nothing_moves(
    model: Path, tmp_path: Path, capsys
) -> None:
    """`sorter resort` with a model that agrees with every folder still makes it the model of
    that output: a correction there then names it, not the model of the first sort."""
    photos = tmp_path / "photos"
    noisy_image(photos / "r.png", RED, 7)
    noisy_image(photos / "b.png", BLUE, 8)
    out = tmp_path / "sorted"
    assert main(["sort", str(photos), "--out", str(out), "--model", str(model)]) == 0
    twin = tmp_path / "twin.pth"
    twin.write_bytes(model.read_bytes())  # the same weights: the same folders
    assert main(["resort", str(out), "--model", str(twin)]) == 0
    assert "0 images would change folder (of 2)." in capsys.readouterr().out
    copy = next(p for p in out.rglob("r.png") if ".sorter" not in p.parts)
    assert main(["queue", "add", str(copy), "--labels", "blue"]) == 0
    note, new_category, _stays = _notes(capsys.readouterr().out)
    assert "'blue' is not a category of the built-in default model" in new_category
    assert "r.png was sorted by twin.pth (categories: blue, red)" in note
    assert f'sorter models use "{os.path.abspath(twin)}"' in note


def test_queue_add_fix_output_moves_the_copy_as_the_window_does(
    model: Path, tmp_path: Path, capsys
) -> None:
    """Without --fix-output the copy stays and a note says so; with it the copy goes to the
    folder of its label (journaled, the report too), the source untouched, one queue row."""
    import csv

    from sorter.core.files import file_sha256
    from sorter.core.sorting.outputlock import OutputLock

    photos = tmp_path / "photos"
    source = noisy_image(photos / "r.png", RED, 7)
    noisy_image(photos / "b.png", BLUE, 8)
    before = file_sha256(source)
    out = tmp_path / "sorted"
    assert main(["sort", str(photos), "--out", str(out), "--model", str(model)]) == 0
    assert main(["models", "use", str(model)]) == 0
    copy = out / "red" / "r.png"
    assert copy.is_file()
    capsys.readouterr()

    assert main(["queue", "add", str(copy), "--labels", "blue"]) == 0
    assert _notes(capsys.readouterr().out) == [
        f"note: the copies of r.png stay in red (in {out}); add --fix-output to put them in "
        "blue, as the window's Save does."
    ]
    assert copy.is_file()

    assert main(["queue", "add", str(copy), "--labels", "Blu", "--fix-output"]) == 1
    err = capsys.readouterr().err  # a likely typo makes no folder of its own
    assert "'Blu' is not one of its categories (did you mean 'blue'?)" in err
    assert copy.is_file() and not (out / "Blu").exists()

    with OutputLock(out):  # another run writing there: the correction is queued all the same
        assert main(["queue", "add", str(copy), "--labels", "blue", "--fix-output"]) == 1
    assert "could not fix" in capsys.readouterr().err and copy.is_file()

    assert main(["queue", "add", str(copy), "--labels", "blue", "--fix-output"]) == 0
    printed = capsys.readouterr().out
    assert f"Fixed {out}: r.png is now in blue (1 copy added, 1 removed)." in printed
    assert _notes(printed) == []
    assert not copy.exists() and (out / "blue" / "r.png").is_file()
    assert file_sha256(source) == before
    (row,) = CorrectionQueue().list()
    assert row.labels == ["blue"] and row.source_path == str(source)
    with open(out / "sorter-report.csv", newline="", encoding="utf-8-sig") as f:
        report = {Path(r["source"]).name: r for r in csv.DictReader(f)}
    assert "blue" in report["r.png"]["categories"]

    assert main(["queue", "add", str(out / "blue" / "r.png"), "--labels", "blue",
                 "--fix-output"]) == 0  # fmt: skip
    assert f"r.png was already in blue in {out}." in capsys.readouterr().out
    assert main(["queue", "add", str(source), "--labels", "red", "--fix-output"]) == 0
    assert _notes(capsys.readouterr().out) == [
        "note: r.png is not a copy in a Sorter output folder: nothing to fix."
    ]


def test_resort_lists_the_changes_before_it_asks(
    model: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """At the prompt, the list of what would move is already on the screen; no answers no."""
    import sys

    from sorter.core.sorting.relabel import relabel

    photos = tmp_path / "photos"
    noisy_image(photos / "r.png", RED, 7)
    noisy_image(photos / "b.png", BLUE, 8)
    out = tmp_path / "sorted"
    assert main(["sort", str(photos), "--out", str(out), "--model", str(model)]) == 0
    relabel(out, photos / "r.png", ["blue"], ["blue", "red"])  # a hand correction the model undoes
    capsys.readouterr()
    shown_at_prompt = []

    def answer(question: str) -> str:
        shown_at_prompt.append(capsys.readouterr().out)
        return "n"

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", answer)
    assert main(["resort", str(out), "--model", str(model)]) == 0
    (screen,) = shown_at_prompt
    assert "1 image would change folder (of 2).\n  r.png: blue -> red" in screen
    assert "Nothing was changed; run again with --yes to apply." in capsys.readouterr().out
    assert (out / "blue" / "r.png").is_file() and not (out / "red" / "r.png").exists()
