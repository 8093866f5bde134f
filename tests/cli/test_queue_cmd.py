"""Tests for `sorter queue ...` and `sorter models ...` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from sorter.cli import main
from sorter.cli.queue_cmd import parse_labels
from sorter.core.corrections import CorrectionQueue
from sorter.core.settings import load_settings
from sorter.core.versions import add_version


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


def _meta(acc: float) -> dict:
    return {
        "arch": "resnet18",
        "builder": "fastai",
        "categories": ["cats", "dogs"],
        "activation": "sigmoid",
        "n_outputs": 2,
        "default_threshold": 0.5,
        "thresholds": {},
        "input_size": 64,
        "resize_method": "squish",
        "normalize": None,
        "training": {"metrics": {"accuracy_multi": acc}},
    }


def test_models_list_and_use(capsys) -> None:
    v1 = add_version(_meta(0.81), {"w": torch.zeros(1)})
    add_version(_meta(0.86), {"w": torch.ones(1)})
    assert main(["models", "use", "v1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == str(v1.path)
    assert load_settings().model_path == str(v1.path)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line[2:].split()[0]: line for line in out.splitlines() if line[2:].strip()}
    assert lines["v1"].startswith("*") and "accuracy_multi 0.810" in lines["v1"]
    assert not lines["v2"].startswith("*") and "0.860" in lines["v2"]
    assert "default" in lines
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["current"]) for v in listed] == [
        ("default", False),
        ("v1", True),
        ("v2", False),
    ]
    assert main(["models", "use", "default"]) == 0
    assert load_settings().model_path is None


@pytest.mark.parametrize("bad", ["v7", "banana"])
def test_models_use_unknown(bad: str, capsys) -> None:
    assert main(["models", "use", bad]) == 2
    assert "no model version" in capsys.readouterr().err
