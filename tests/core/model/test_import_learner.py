"""Importing fastai learn.export() files: path mapping, arch detection, same scores as fastai."""

from __future__ import annotations

import pathlib
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sorter.core.errors import BadPathError, ModelFileError
from sorter.core.model.import_learner import detect_arch, import_learner
from sorter.core.model.modelfile import load_model
from sorter.core.model.networks import fastai_network
from sorter.core.model.predict import score_images

pytestmark = pytest.mark.slow


def _images(root: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for name, channel in (("red", 0), ("blue", 2)):
        for i in range(4):
            pixels = rng.integers(0, 90, (40, 56, 3), dtype=np.uint8)
            pixels[..., channel] = 230
            path = root / name / f"{name}{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(path)
            paths.append(path)
    return paths


def _export(tmp_path: Path, single_label: bool = False, get_y=None) -> tuple[Path, object]:
    from fastai.vision.all import (
        CategoryBlock,
        DataBlock,
        ImageBlock,
        MultiCategoryBlock,
        RandomSplitter,
        Resize,
        get_image_files,
        resnet18,
        vision_learner,
    )

    root = tmp_path / "data"
    _images(root)
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock if single_label else MultiCategoryBlock),
        get_items=get_image_files,
        get_y=get_y or (lambda p: p.parent.name if single_label else [p.parent.name]),
        splitter=RandomSplitter(seed=0),
        item_tfms=Resize(48),
    )
    dls = block.dataloaders(root, bs=4, num_workers=0)
    torch.manual_seed(0)
    learn = vision_learner(dls, resnet18, pretrained=False)
    learn.path = tmp_path  # a PosixPath: pickled as one
    learn.export("export.pkl")
    return tmp_path / "export.pkl", learn


def _refuse_posix_paths(*args, **kwargs):
    raise NotImplementedError("cannot instantiate 'PosixPath' on your system")


def test_linux_export_loads_where_posixpath_cannot_exist_and_scores_like_fastai(
    tmp_path, monkeypatch
):
    export, learn = _export(tmp_path)
    with monkeypatch.context() as windows:  # what Windows does with a pickled PosixPath
        windows.setattr(pathlib.PosixPath, "__new__", _refuse_posix_paths)
        with pytest.raises(NotImplementedError, match="cannot instantiate 'PosixPath'"):
            torch.load(export, weights_only=False)
        meta = import_learner(export, tmp_path / "imported.pth")
    assert meta.arch == "resnet18" and meta.builder == "fastai"
    assert meta.categories == ["blue", "red"] and meta.activation == "sigmoid"
    assert (meta.input_size, meta.resize_method) == (48, "crop")
    assert meta.normalize is None  # pretrained=False: fastai adds no Normalize
    model = load_model(tmp_path / "imported.pth", device="cpu")
    paths = sorted((tmp_path / "data").rglob("*.png"))
    ours = np.array([s.scores for s in score_images(model, paths)])
    theirs = np.array([learn.predict(p)[2].numpy() for p in paths])
    np.testing.assert_allclose(ours, theirs, atol=2e-3)


def test_single_label_learner_becomes_softmax_groups_and_missing_helpers_are_stubbed(tmp_path):
    helpers = types.ModuleType("notebook_helpers")
    exec("def label_of(p):\n    return p.parent.name\n", helpers.__dict__)
    sys.modules["notebook_helpers"] = helpers
    try:
        export, _ = _export(tmp_path, single_label=True, get_y=helpers.label_of)
    finally:
        del sys.modules["notebook_helpers"]  # the notebook's module is not here at import
    meta = import_learner(export, tmp_path / "single.pth")
    assert meta.activation == "softmax-groups"
    assert meta.groups == {"blue": [0], "red": [1]}
    assert "notebook_helpers.label_of" in meta.training["missing_names"]
    model = load_model(tmp_path / "single.pth", device="cpu")
    scores = [s.scores for s in score_images(model, sorted((tmp_path / "data").rglob("*.png")))]
    assert np.allclose(np.sum(scores, axis=1), 1.0, atol=1e-4)


def test_bad_inputs_give_clear_errors(tmp_path):
    with pytest.raises(BadPathError):
        import_learner(tmp_path / "nope.pkl", tmp_path / "m.pth")
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle at all")
    with pytest.raises(ModelFileError, match="not a fastai export"):
        import_learner(junk, tmp_path / "m.pth")
    taken = tmp_path / "taken.pth"
    taken.write_bytes(b"keep me")
    with pytest.raises(BadPathError, match="already exists"):
        import_learner(junk, taken)
    assert taken.read_bytes() == b"keep me"


def test_detect_arch_names_each_network_and_refuses_strangers():
    for arch in ("mobilenet_v2", "resnet18", "resnet34"):
        state = fastai_network(arch, 3).state_dict()
        assert detect_arch(state, 3) == ("fastai", arch)
    state = fastai_network("resnet18", 3).state_dict()
    state.pop(next(iter(state)))
    with pytest.raises(ModelFileError, match="not one Sorter can rebuild"):
        detect_arch(state, 3)
