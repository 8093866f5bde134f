"""Fine-tuning MobileNetV2's last blocks on cached maps, and the fastai head it is saved as."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from fakes import make_photos

from sorter.core.model.meta import Preprocessing, single_label_meta
from sorter.core.model.modelfile import load_model, save_model
from sorter.core.model.networks import fastai_body
from sorter.core.model.predict import score_images
from sorter.core.training.quick import assemble

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from blocks import (
    BlockSettings,
    LinearHead,
    cache_maps,
    choose_decay,
    fit_blocks,
    fold_ids,
    linear_fastai_head,
    multi_hot,
    pooled,
    split_body,
)

PRE = Preprocessing(64, "squish", None)  # 2x2 maps entering block 17: milliseconds per image
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def body():
    torch.manual_seed(0)
    return fastai_body("mobilenet_v2").eval()


def _random_linear(n_out: int, n_in: int = 2560) -> LinearHead:
    gen = torch.Generator().manual_seed(1)
    return LinearHead(
        mean=torch.randn(n_in, generator=gen),
        std=torch.rand(n_in, generator=gen) + 0.01,
        weight=torch.randn(n_out, n_in, generator=gen),
        bias=torch.randn(n_out, generator=gen),
    )


def test_linear_fastai_head_computes_the_linear_logits():
    linear = _random_linear(4)
    head = linear_fastai_head(linear, 1280)
    maps = torch.rand(5, 1280, 2, 2) * 6
    features = pooled(torch.nn.Identity(), maps)
    with torch.no_grad():
        assert torch.allclose(head(maps), linear.logits(features), rtol=1e-4, atol=1e-3)


def test_linear_fastai_head_refuses_more_categories_than_its_hidden_units_carry():
    with pytest.raises(ValueError, match="255"):
        linear_fastai_head(_random_linear(256, 8), 4)


def test_cache_maps_gives_each_view_and_reports_unreadable_files(tmp_path, body):
    photos = sorted(make_photos(tmp_path / "in", 3).iterdir())
    broken = tmp_path / "in" / "broken.jpg"
    broken.write_bytes(b"not an image")
    maps, bad = cache_maps([*photos, broken], body, PRE, CPU, views=("plain", "mirror"))
    assert maps.shape == (3, 2, 160, 2, 2) and maps.dtype == torch.float16
    assert list(bad) == [broken]
    plain, _ = cache_maps(photos, body, PRE, CPU, views=("plain",))
    assert torch.equal(plain[:, 0], maps[:, 0])
    assert not torch.allclose(maps[:, 0].float(), maps[:, 1].float())


def test_fold_ids_put_every_category_in_every_fold():
    y = multi_hot(torch.arange(6).repeat_interleave(10), 6)
    folds = fold_ids(y, 5, seed=3)
    for fold in range(5):
        assert sorted(y[folds == fold].argmax(1).tolist()) == sorted(list(range(6)) * 2)


def test_choose_decay_prefers_strong_decay_when_labels_are_noise():
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(40, 2, 30, generator=gen)
    y = multi_hot(torch.randint(0, 2, (40,), generator=gen), 2)
    # Held-out loss punishes fitting noise; training loss would pick the weakest decay.
    assert choose_decay(features, y, True, (1e-4, 100.0), seed=0) == 100.0


def _maps_and_labels(tmp_path, body):
    photos = sorted(make_photos(tmp_path / "in", 12).iterdir())
    maps, _ = cache_maps(photos, body, PRE, CPU, views=("plain", "mirror"))
    return photos, maps, torch.arange(3).repeat(4)


def test_fit_blocks_without_epochs_leaves_the_blocks_and_the_callers_body_alone(tmp_path, body):
    _, maps, y = _maps_and_labels(tmp_path, body)
    before = {k: v.clone() for k, v in body.state_dict().items()}
    settings = BlockSettings(epochs=0, head_decay=0.1)
    result = fit_blocks(maps, y, body=body, exclusive=True, settings=settings, seed=0)
    after = result.body.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items())
    tuned = fit_blocks(
        maps, y, body=body, exclusive=True, settings=BlockSettings(epochs=2, head_decay=0.1), seed=0
    )
    assert not torch.equal(tuned.body.state_dict()["0.18.0.weight"], before["0.18.0.weight"])
    assert all(torch.equal(body.state_dict()[k], v) for k, v in before.items())


@pytest.mark.parametrize("tune_from", [0, 1])
def test_the_saved_model_sorts_with_the_scores_training_evaluated(tmp_path, body, tune_from):
    photos, maps, y = _maps_and_labels(tmp_path, body)
    settings = BlockSettings(epochs=2, tune_from=tune_from, head_decays=(0.1, 1.0))
    result = fit_blocks(maps, y, body=body, exclusive=True, settings=settings, seed=0)
    with torch.no_grad():
        tail = split_body(result.body)[1]
        expected = torch.softmax(result.linear.logits(pooled(tail, maps[:, 0])), dim=1)
    path = tmp_path / "blocks.pth"
    meta = single_label_meta("mobilenet_v2", ["a", "b", "c"], PRE)
    save_model(path, meta, assemble("mobilenet_v2", result.body, result.head))
    scores = [s.scores for s in score_images(load_model(path, device="cpu"), photos)]
    assert torch.allclose(torch.tensor(scores), expected, atol=1e-3)


def test_fit_blocks_trains_a_multi_label_head_from_label_rows(tmp_path, body):
    _, maps, _ = _maps_and_labels(tmp_path, body)
    y = torch.tensor([[1, 0], [0, 1], [1, 1], [0, 0]] * 3, dtype=torch.float32)
    settings = BlockSettings(epochs=1, head_decay=0.1)
    result = fit_blocks(maps, y, body=body, exclusive=False, settings=settings, seed=0)
    assert result.linear.weight.shape == (2, 2560) and result.head[-1].out_features == 2
