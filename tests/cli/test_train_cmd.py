"""`sorter train` and `sorter import-learner` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from sorter.cli import main
from sorter.cli.train_cmd import default_out
from sorter.core.model.modelfile import load_model


def _tree(root: Path, names=("red", "blue"), per_class: int = 6) -> Path:
    colors = {"red": (220, 20, 20), "blue": (20, 20, 220)}
    for name in names:
        for i in range(per_class):
            path = root / name / f"{name}{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            shade = 10 * i
            color = tuple(max(0, c - shade) for c in colors[name])
            Image.new("RGB", (40, 40), color).save(path)
    return root


@pytest.mark.slow
def test_train_folder_prints_summary_and_writes_model(tmp_path, capsys):
    data = _tree(tmp_path / "colours")
    out = tmp_path / "m.pth"
    code = main(["train", str(data), "--out", str(out), "--input-size", "64", "--epochs", "8"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert out.is_file() and (tmp_path / "m.report.json").is_file()
    assert f"Model:  {out.resolve()}" in printed.out
    assert "red" in printed.out and "threshold" in printed.out
    assert "note: Single-label model (every image is in exactly one category)" in printed.out
    assert load_model(out, device="cpu").exclusive
    assert main(["info", str(out)]) == 0
    assert "Decision:     single-label" in capsys.readouterr().out
    assert main(["sort", str(data), "--out", str(tmp_path / "sorted"), "--model", str(out)]) == 0
    assert "a single-label model: one folder per image" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flag", "exclusive"), [("--multi-label", False), ("--single-label", True)]
)
def test_the_kind_flags_override_the_data(tmp_path, capsys, flag, exclusive):
    images = _tree(tmp_path / "imgs")
    # every image labelled "red" or "blue" and a few also "dark": multi-label data
    rows = [
        f"{p.relative_to(images).as_posix()},{p.parent.name}{' dark' if '5' in p.name else ''}"
        for p in sorted(images.rglob("*.png"))
    ]
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("\n".join(rows) + "\n")
    data = _tree(tmp_path / "folders")  # one folder per image: single-label data
    for source, name in ((csv_file, "csv"), (data, "folders")):
        out = tmp_path / f"{name}.pth"
        args = [
            "train",
            str(source),
            "--out",
            str(out),
            flag,
            "--input-size",
            "64",
            "--epochs",
            "3",
        ]
        assert main(args + (["--images", str(images)] if name == "csv" else [])) == 0
        assert load_model(out, device="cpu").exclusive is exclusive, name
        assert f"as asked ({flag})" in capsys.readouterr().out


@pytest.mark.slow
def test_as_version_stores_the_next_version_with_its_name(tmp_path, capsys, monkeypatch):
    from sorter.core.learning.versions import current_version_name, list_versions

    monkeypatch.chdir(tmp_path)
    data = _tree(tmp_path / "Shop examples")
    args = ["train", str(data), "--as-version", "--input-size", "64"]
    code = main([*args, "--name", "Colours"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    (version,) = list_versions(include_default=False)
    assert (version.name, version.title, version.current) == ("v1", "Colours", False)
    assert version.note == "trained on 12 example photos in Shop examples"
    assert f'Model:  version v1 "Colours", {version.path}' in printed.out
    assert "sorter models use v1" in printed.out
    assert list(tmp_path.glob("*.pth")) == []  # nothing written beside the user's files
    assert current_version_name() == "default"
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["version"], result["title"]) == ("v2", "")
    assert result["model"] == str(list_versions(include_default=False)[1].path)


def test_a_name_needs_as_version_and_a_file_excludes_it(tmp_path, capsys):
    assert main(["train", str(tmp_path), "--name", "Mine"]) == 2
    assert "--name names a stored version: add --as-version" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["train", str(tmp_path), "--as-version", "--out", str(tmp_path / "m.pth")])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_kind_flags_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", str(tmp_path), "--single-label", "--multi-label"])
    assert stop.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.slow
def test_train_csv_with_json_output(tmp_path, capsys):
    images = _tree(tmp_path / "imgs")
    rows = [f"{p.relative_to(images).as_posix()},{p.parent.name}" for p in images.rglob("*.png")]
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("file,labels\n" + "\n".join(rows) + "\nghost.png,red\n")
    out = tmp_path / "csv.pth"
    args = ["train", str(csv_file), "--images", str(images), "--out", str(out), "--json"]
    code = main([*args, "--input-size", "64", "--epochs", "5"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    result = json.loads(printed.out)
    assert result["model"] == str(out.resolve())
    assert result["training"]["image_counts"] == {"blue": 6, "red": 6}
    assert result["skipped"][0]["path"].endswith("ghost.png")


def test_bad_training_data_is_one_clear_line(tmp_path, capsys):
    data = _tree(tmp_path / "one", names=("red",))
    assert main(["train", str(data), "--out", str(tmp_path / "x.pth")]) == 2
    err = capsys.readouterr().err
    assert "Only one category" in err and "Traceback" not in err
    assert main(["train", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    taken = tmp_path / "taken.pth"
    taken.write_bytes(b"mine")
    assert main(["train", str(_tree(tmp_path / "two")), "--out", str(taken)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert taken.read_bytes() == b"mine"


def test_import_learner_refuses_without_trust(tmp_path, capsys):
    export = tmp_path / "export.pkl"
    export.write_bytes(b"\x80\x02 pretend pickle")
    assert main(["import-learner", str(export)]) == 2
    err = capsys.readouterr().err
    assert "--trust" in err and "runs code" in err
    assert list(tmp_path.iterdir()) == [export]


def test_default_out_is_numbered_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = default_out("furniture")
    assert first == tmp_path / "furniture.pth"
    first.write_bytes(b"x")
    assert default_out("furniture") == tmp_path / "furniture (2).pth"
