"""ModelMeta: the one typed way to make, read, check and write a model's metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sorter.core.errors import ModelFileError
from sorter.core.model.meta import (
    IMAGENET,
    ModelMeta,
    Preprocessing,
    Stats,
    sigmoid_meta,
    single_label_meta,
    trained_meta,
)
from sorter.core.model.modelfile import default_model_path


def stored(**changes) -> dict:
    """Metadata as a model file stores it (the dict of format version 1)."""
    raw = {
        "arch": "resnet18",
        "builder": "fastai",
        "categories": ["cats", "dogs"],
        "activation": "sigmoid",
        "n_outputs": 2,
        "default_threshold": 0.5,
        "thresholds": {"dogs": 0.7},
        "input_size": 64,
        "resize_method": "pad",
        "normalize": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
        "pad_mode": "zeros",
        "empty_category": None,
        "training": {"date": "2026-11-23", "metrics": {"f1": 0.9}},
        "created_by": "sorter 1.0",
        "backbone_sha256": "ab" * 32,
    }
    raw.update(changes)
    return raw


def test_every_key_has_a_typed_field():
    meta = ModelMeta.from_dict(stored())
    assert meta.arch == "resnet18" and meta.builder == "fastai"
    assert meta.categories == ["cats", "dogs"] and meta.n_outputs == 2
    assert meta.preprocessing == Preprocessing(64, "pad", IMAGENET, "zeros")
    assert (meta.input_size, meta.resize_method, meta.pad_mode) == (64, "pad", "zeros")
    assert meta.normalize == IMAGENET and meta.normalize.mean == (0.485, 0.456, 0.406)
    assert meta.category_thresholds() == {"cats": 0.5, "dogs": 0.7}
    assert meta.training["metrics"] == {"f1": 0.9}
    assert meta.created_by == "sorter 1.0" and meta.backbone_sha256 == "ab" * 32
    assert meta.groups is None and meta.empty_category is None and meta.extra == {}


def test_round_trip_keeps_unknown_keys():
    raw = stored(future_key={"nested": [1, 2]}, note="kept")
    meta = ModelMeta.from_dict(raw)
    assert meta.extra == {"future_key": {"nested": [1, 2]}, "note": "kept"}
    assert meta.to_dict() == raw
    assert ModelMeta.from_dict(json.loads(json.dumps(meta.to_dict()))) == meta


def test_written_dict_is_plain_data_in_the_v1_layout():
    meta = sigmoid_meta("resnet18", ["a", "b"], Preprocessing(32, "squish"), thresholds={"a": 0.6})
    out = meta.to_dict()
    assert set(out) >= {"arch", "builder", "categories", "activation", "n_outputs",
                        "default_threshold", "thresholds", "input_size", "resize_method",
                        "normalize"}  # fmt: skip
    assert out["normalize"] is None and out["categories"] == ["a", "b"]
    assert json.loads(json.dumps(out)) == out  # lists and dicts only, no tuples or objects
    assert "pad_mode" not in out and "groups" not in out  # optional keys only when set


def test_the_default_models_json_reads_and_writes_back():
    raw = json.loads(default_model_path().read_text(encoding="utf-8"))
    file_keys = ("format", "version", "weights_file", "weights_sha256")
    raw = {k: v for k, v in raw.items() if k not in file_keys}
    meta = ModelMeta.from_dict(raw)
    assert meta.activation == "softmax-groups" and len(meta.groups["animals"]) > 100
    assert meta.normalize == IMAGENET
    assert meta.to_dict() == raw


def test_the_kind_single_or_multi_label_is_read_from_the_activation():
    pre = Preprocessing(32)
    single = single_label_meta("resnet18", ["a", "b"], pre, thresholds={"a": 0.3})
    assert single.exclusive and single.activation == "softmax-groups"
    assert single.groups == {"a": [0], "b": [1]} and single.n_outputs == 2
    assert ModelMeta.from_dict(single.to_dict()) == single  # the kind survives the file
    assert not sigmoid_meta("resnet18", ["a", "b"], pre).exclusive
    assert trained_meta("resnet18", ["a", "b"], pre, exclusive=True) == single.replace(
        thresholds={}
    )
    assert not trained_meta("resnet18", ["a", "b"], pre, exclusive=False).exclusive
    # groups sharing an output do not exclude one another: read as multi-label
    shared = single.replace(n_outputs=3, groups={"a": [0, 2], "b": [1, 2]})
    assert not shared.exclusive


def test_an_old_multi_label_file_reads_as_multi_label():
    assert not ModelMeta.from_dict(stored()).exclusive  # a "sigmoid" file, as every one before
    assert ModelMeta.from_dict(stored()).max_labels is None  # and no limit on its folders


def test_the_most_folders_per_image_round_trips():
    meta = ModelMeta.from_dict(stored(max_labels=2))
    assert meta.max_labels == 2 and meta.extra == {}
    assert meta.to_dict()["max_labels"] == 2
    assert "max_labels" not in ModelMeta.from_dict(stored()).to_dict()  # old files stay as they are


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input_size": "224"}, "input_size must be a whole number"),
        ({"normalize": {"mean": [0.5], "std": [1, 1, 1]}}, "normalize must be null"),
        ({"thresholds": {"cats": 1.5}}, "between 0 and 1"),
        ({"empty_category": "nothing"}, "empty_category 'nothing' is not one of"),
        ({"categories": ["a", "a"]}, "category names repeat"),
        ({"arch": 18}, "arch must be a name"),
        ({"created_by": ["me"]}, "created_by must be text"),
        ({"training": [1, 2]}, "training must be a mapping"),
        ({"max_labels": 0}, "max_labels must be a positive whole number"),
        ({"max_labels": "2"}, "max_labels must be a positive whole number"),
    ],
)
def test_a_bad_file_is_refused_with_its_name(change, message):
    where = Path("/models/bad.pth")
    with pytest.raises(ModelFileError, match=message) as err:
        ModelMeta.from_dict(stored(**change), where)
    assert str(err.value).startswith(f"{where}: not a usable Sorter model (")


def test_metadata_that_is_not_a_mapping():
    with pytest.raises(ModelFileError, match=r"bad\.pth: .*not a mapping"):
        ModelMeta.from_dict(["arch"], Path("bad.pth"))  # type: ignore[arg-type]


def test_made_in_code_is_checked_too():
    with pytest.raises(ModelFileError, match="3 outputs for 2 categories"):
        ModelMeta("resnet18", "fastai", ["a", "b"], "sigmoid", 3, Preprocessing(32))
    meta = sigmoid_meta("resnet18", ["a", "b"], Preprocessing(32))
    with pytest.raises(ModelFileError, match="between 0 and 1"):
        meta.replace(default_threshold=2.0)
    with pytest.raises(ModelFileError, match="unknown resize method"):
        meta.replace(preprocessing=Preprocessing(32, "zoom"))


def test_stats_write_plain_lists():
    assert Stats((0.5, 0.5, 0.5), (1.0, 1.0, 1.0)).to_dict() == {
        "mean": [0.5, 0.5, 0.5],
        "std": [1.0, 1.0, 1.0],
    }
