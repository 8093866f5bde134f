"""Sorter without fastai gives what fastai gives: same network, same preprocessing, same scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sorter.core.model.fastai_compat import (
    fastai_vision_model,
    register_mobilenet_v2,
    torchvision_arch,
)
from sorter.core.model.meta import IMAGENET, Preprocessing
from sorter.core.model.modelfile import load_model
from sorter.core.model.networks import ARCHS, fastai_network
from sorter.core.model.predict import open_image, preprocess, score_images
from sorter.core.model.weights_import import import_weights

pytestmark = pytest.mark.slow  # imports fastai (several seconds) and trains tiny models

fv = pytest.importorskip("fastai.vision.all")

LABELS = ["a", "b", "a c", "c", "b c", "a b", "c", "a"]
SIZES = [(80, 60), (50, 90), (64, 64), (100, 40), (33, 47), (120, 120), (70, 71), (90, 30)]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fastai_images")
    rng = np.random.default_rng(1)
    for i, (w, h) in enumerate(SIZES):
        array = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        array[: h // 2, :, i % 3] = 255  # some structure besides noise
        Image.fromarray(array).save(folder / f"img{i}.png")
    return folder


@pytest.mark.parametrize("arch", ARCHS)
def test_same_modules_and_state_dict_as_create_vision_model(arch):
    reference = fastai_vision_model(arch, 4)
    ours = fastai_network(arch, 4)
    ref_sd, our_sd = reference.state_dict(), ours.state_dict()
    assert list(ref_sd) == list(our_sd)
    assert all(ref_sd[k].shape == our_sd[k].shape for k in ref_sd)
    ref_modules = [(n, type(m).__name__) for n, m in reference.named_modules()]
    assert ref_modules == [(n, type(m).__name__) for n, m in ours.named_modules()]


@pytest.mark.parametrize("arch", ["mobilenet_v2", "resnet18"])
def test_same_outputs_with_the_same_weights(arch):
    torch.manual_seed(3)
    reference = fastai_vision_model(arch, 3)
    ours = fastai_network(arch, 3)
    # Give batchnorm non-trivial statistics so eval mode really differs from train mode.
    reference.train()
    with torch.no_grad():
        reference(torch.rand(4, 3, 64, 64))
    ours.load_state_dict(reference.state_dict(), strict=True)
    reference.eval()
    ours.eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(reference(x), ours(x), atol=1e-6)


def test_mobilenet_registration_is_idempotent_and_cuts_the_classifier():
    register_mobilenet_v2()
    register_mobilenet_v2()
    from fastai.vision.learner import model_meta

    meta = model_meta[torchvision_arch("mobilenet_v2")]
    assert meta["cut"] == -1 and meta["weights"] == "IMAGENET1K_V1"


def train_tiny_learner(folder: Path, arch: str, method: str, normalize: bool):
    files = sorted(folder.glob("img*.png"))
    labels = {f.name: LABELS[int(f.stem[3:])] for f in files}
    batch_tfms = [fv.Normalize.from_stats(*fv.imagenet_stats)] if normalize else []
    block = fv.DataBlock(
        blocks=(fv.ImageBlock, fv.MultiCategoryBlock),
        get_items=lambda _: files,
        get_y=lambda f: labels[f.name].split(),
        splitter=fv.IndexSplitter([6, 7]),
        item_tfms=fv.Resize(64, method=method),
        batch_tfms=batch_tfms,
    )
    dls = block.dataloaders(folder, bs=3, num_workers=0)
    torch.manual_seed(0)
    learn = fv.vision_learner(dls, torchvision_arch(arch), pretrained=False, path=folder)
    calibrate_batchnorm(learn)
    return learn, files


def calibrate_batchnorm(learn) -> None:
    """Batchnorm statistics from the data: scores then vary from image to image, unsaturated,
    so a preprocessing difference shows in them (a short fit saturates them at 0 or 1)."""
    for module in learn.model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # a plain average over the batches seen
    learn.model.train()
    with torch.no_grad():
        for _ in range(3):
            for xb, _yb in learn.dls.train:
                learn.model(xb)
    learn.model.eval()


@pytest.mark.parametrize(
    ("arch", "method", "normalize"),
    [("resnet18", "crop", True), ("resnet18", "squish", False), ("mobilenet_v2", "pad", True)],
)
def test_scores_equal_learn_predict(image_folder, tmp_path, arch, method, normalize):
    learn, files = train_tiny_learner(image_folder, arch, method, normalize)
    weights = learn.save(f"w-{arch}-{method}", pickle_protocol=4, with_opt=False)
    categories = list(learn.dls.vocab)
    out = import_weights(
        weights,
        arch,
        categories,
        tmp_path / "imported.pth",
        resize_method=method,
        size=64,
        normalize=normalize,
    )
    model = load_model(out, device="cpu")
    ours = {r.path: r.scores for r in score_images(model, files, batch_size=3, threads=2)}
    spread = []
    with learn.no_bar():
        for f in files:
            expected = learn.predict(f)[2]
            assert ours[f] == pytest.approx(expected.tolist(), abs=1e-4), f.name
            spread.append(expected)
    # The comparison means something only if scores differ between images and are not saturated.
    spread = torch.stack(spread)
    assert spread.std(dim=0).min() > 0.01 and 0.02 < spread.mean() < 0.98


@pytest.mark.parametrize(
    ("method", "pad_mode"),
    [("crop", None), ("squish", None), ("pad", None), ("pad", "zeros"), ("pad", "border")],
)
def test_preprocessing_equals_fastai_valid_transform(image_folder, method, pad_mode):
    files = sorted(image_folder.glob("img*.png"))
    block = fv.DataBlock(
        blocks=(fv.ImageBlock, fv.MultiCategoryBlock),
        get_items=lambda _: files,
        get_y=lambda f: ["a"],
        item_tfms=fv.Resize(48, method=method, pad_mode=pad_mode or "reflection"),
        batch_tfms=[fv.Normalize.from_stats(*fv.imagenet_stats)],
    )
    dls = block.dataloaders(image_folder, bs=len(files), num_workers=0)
    (expected,) = dls.test_dl(files, bs=len(files)).one_batch()
    meta = Preprocessing(48, method, IMAGENET, pad_mode)
    ours = torch.stack([preprocess(open_image(f), meta) for f in files])
    assert torch.allclose(ours, torch.as_tensor(expected), atol=1e-5)
