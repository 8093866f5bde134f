"""Compact model files: a model whose networks are still the shipped ImageNet ones is stored
without them (format version 2), and reads back to exactly the same weights."""

from __future__ import annotations

import pytest
import torch
from fakes import quick_state, tiny_meta

from sorter.core.errors import ModelFileError
from sorter.core.model import modelfile
from sorter.core.model.arch_names import PAIR
from sorter.core.model.modelfile import load_model, read_model_file, save_model
from sorter.core.model.pretrained import restore_zero_rows, trim_zero_rows
from sorter.core.model.safe_load import safe_torch_load
from sorter.core.training import backbone

CATEGORIES = ("chairs", "tables", "lamps")


@pytest.fixture(scope="module")
def shared():
    body = backbone.shared_body(PAIR)
    assert body is not None  # the shipped weights are in assets/weights
    return body


@pytest.fixture(scope="module")
def quick(shared):
    return quick_state(len(CATEGORIES))


def _meta():
    return tiny_meta(CATEGORIES, arch=PAIR, input_size=64)


def test_training_starts_from_the_very_body_a_compact_file_is_completed_with(shared):
    weights = backbone.find_pretrained_weights(PAIR)
    trained = backbone.pretrained_body(PAIR, weights).state_dict()
    assert {"0." + k for k in trained} == set(shared.state)
    assert all(torch.equal(v, shared.state["0." + k]) for k, v in trained.items())
    assert shared.files == ("mobilenet_v2-b0353104.pth", "efficientnet-lite0-57934424.pth")


def test_an_unchanged_body_is_left_out_and_read_back_exactly(tmp_path, shared, quick):
    compact, whole = tmp_path / "compact.pth", tmp_path / "whole.pth"
    save_model(compact, _meta(), quick, shared)
    save_model(whole, _meta(), quick)
    assert compact.stat().st_size < 1_000_000 < 30_000_000 < whole.stat().st_size
    raw = safe_torch_load(compact)
    assert raw["version"] == modelfile.COMPACT_VERSION
    assert raw["shared_body"]["files"] == list(shared.files)
    assert not any(k.startswith("0.") for k in raw["state_dict"])
    assert tuple(raw["state_dict"]["1.4.weight"].shape) == (6, 5120)  # the zero rows stay out
    meta, state = read_model_file(compact)
    assert meta.categories == list(CATEGORIES)
    assert set(state) == set(quick)
    assert all(torch.equal(state[k], quick[k]) for k in quick)
    x = torch.rand(2, 3, 64, 64)
    a, b = load_model(compact, "cpu").scores(x), load_model(whole, "cpu").scores(x)
    assert torch.equal(a, b)


def test_a_fine_tuned_body_is_stored_whole(tmp_path, shared, quick):
    tuned = dict(quick)
    key = next(iter(shared.state))
    tuned[key] = tuned[key] + 1e-3
    path = tmp_path / "tuned.pth"
    save_model(path, _meta(), tuned, shared)
    assert safe_torch_load(path)["version"] == modelfile.VERSION
    assert torch.equal(read_model_file(path)[1][key], tuned[key])


def test_a_compact_file_without_the_shipped_weights_says_what_to_do(
    tmp_path, shared, quick, monkeypatch
):
    path = tmp_path / "model.pth"
    save_model(path, _meta(), quick, shared)
    monkeypatch.setattr(modelfile, "find_weight_file", lambda name: None)
    with pytest.raises(ModelFileError, match=r"not installed\. Reinstall Sorter, or save a copy"):
        read_model_file(path)


def test_a_compact_file_made_with_other_shipped_weights_is_refused(
    tmp_path, shared, quick, monkeypatch
):
    path = tmp_path / "model.pth"
    save_model(path, _meta(), quick, shared)
    other = tmp_path / "mobilenet_v2-b0353104.pth"
    state = torch.load(backbone.find_pretrained_weights("mobilenet_v2"), weights_only=True)
    state["features.0.0.weight"] = state["features.0.0.weight"] * 1.01
    torch.save(state, other)
    real = modelfile.find_weight_file
    monkeypatch.setattr(
        modelfile, "find_weight_file", lambda name: other if name == other.name else real(name)
    )
    with pytest.raises(ModelFileError, match="made with other network weights than this"):
        read_model_file(path)


def test_a_damaged_compact_file_is_refused_not_guessed(tmp_path, shared, quick):
    path = tmp_path / "model.pth"
    save_model(path, _meta(), quick, shared)
    raw = safe_torch_load(path)
    raw["zero_rows"]["1.4.weight"] = [512, 100]
    torch.save(raw, path)
    with pytest.raises(ModelFileError, match=r"damaged: 1\.4\.weight does not fit"):
        read_model_file(path)
    raw["zero_rows"]["1.4.weight"] = [10**9, 5120]  # never gigabytes of zeros
    torch.save(raw, path)
    with pytest.raises(ModelFileError, match="impossible shape"):
        read_model_file(path)
    raw["zero_rows"]["1.4.weight"] = [-512, 5120]
    torch.save(raw, path)
    with pytest.raises(ModelFileError, match="its tensor shapes are lost"):
        read_model_file(path)
    raw["zero_rows"]["1.4.weight"] = [512, 5120]
    for name in ("../../elsewhere/mobilenet_v2-b0353104.pth", "C:\\x\\m.pth", "notes.txt"):
        raw["shared_body"]["files"][0] = name  # a name, never a path to follow
        torch.save(raw, path)
        with pytest.raises(ModelFileError, match="its network is not named"):
            read_model_file(path)
    del raw["shared_body"]
    torch.save(raw, path)
    with pytest.raises(ModelFileError, match="its network is not named"):
        read_model_file(path)
    raw["version"] = 3
    torch.save(raw, path)
    with pytest.raises(ModelFileError, match="version 3; this Sorter reads versions 1 and 2"):
        read_model_file(path)


def test_zero_rows_are_trimmed_from_the_end_only():
    state = {
        "w": torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0], [0.0, 0.0]]),
        "zeros": torch.zeros(3),
        "dense": torch.ones(2, 2),
        "count": torch.tensor(7),
    }
    kept, shapes = trim_zero_rows(state)
    assert shapes == {"w": [4, 2], "zeros": [3]}
    assert tuple(kept["w"].shape) == (3, 2) and tuple(kept["zeros"].shape) == (0,)
    back = restore_zero_rows(kept, shapes)
    assert all(torch.equal(back[k], state[k]) for k in state)


def test_a_retrained_built_in_model_keeps_only_its_classifier(tmp_path):
    # The built-in model is torchvision's layout; its retrains replace the classifier only.
    from sorter.core.model.networks import torchvision_network

    shared = backbone.shared_body("mobilenet_v2", "torchvision")
    assert shared is not None and set(shared.state) == {
        k
        for k in torchvision_network("mobilenet_v2", 1001).state_dict()
        if k.startswith("features.")
    }
    torch.manual_seed(0)
    state = torchvision_network("mobilenet_v2", 1001).state_dict()
    state.update(shared.state)
    meta = tiny_meta(("x",), arch="mobilenet_v2", builder="torchvision", n_outputs=1001,
                     activation="softmax-groups", groups={"x": list(range(1001))})  # fmt: skip
    path = tmp_path / "retrained.pth"
    save_model(path, meta, state, shared)
    assert safe_torch_load(path)["version"] == modelfile.COMPACT_VERSION
    assert set(safe_torch_load(path)["state_dict"]) == {"classifier.1.weight", "classifier.1.bias"}
    back = read_model_file(path)[1]
    assert all(torch.equal(back[k], v) for k, v in state.items())
