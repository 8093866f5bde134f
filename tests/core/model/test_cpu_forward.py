"""The chunked CPU forward: even chunks, the same numbers as one pass, threads given back."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from sorter.core.model.cpu_forward import CPU_CHUNK, chunked, cpu_forward_pool, split_evenly
from sorter.core.model.meta import Preprocessing
from sorter.core.model.networks import AdaptiveConcatPool2d
from sorter.core.training.quick import extract_features


@pytest.mark.parametrize(
    ("count", "workers", "sizes"),
    [
        (32, 2, [8, 8, 8, 8]),
        (28, 2, [7, 7, 7, 7]),  # not 8, 8, 8, 4: both cores finish together
        (9, 2, [5, 4]),
        (3, 2, [2, 1]),
        (1, 2, [1]),
        (0, 2, []),
        (20, 1, [7, 7, 6]),
        (17, 4, [5, 4, 4, 4]),
    ],
)
def test_split_evenly(count, workers, sizes):
    assert split_evenly(count, workers, largest=8) == sizes


def test_split_evenly_uses_the_cpu_chunk_by_default():
    assert split_evenly(32, 2) == [CPU_CHUNK] * (32 // CPU_CHUNK)


def test_split_evenly_never_exceeds_the_chunk_and_covers_every_row():
    for count in range(1, 80):
        for workers in (1, 2, 3, 8):
            sizes = split_evenly(count, workers)
            assert sum(sizes) == count
            assert max(sizes) <= CPU_CHUNK
            assert max(sizes) - min(sizes) <= 1


def _tiny_body() -> nn.Module:
    torch.manual_seed(0)
    body = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.Conv2d(6, 4, 3)
    ).eval()
    with torch.no_grad():  # statistics far from the identity, so a wrong fold would show
        body[1].running_mean.uniform_(-1, 1)
        body[1].running_var.uniform_(0.5, 2)
        body[1].weight.uniform_(0.5, 1.5)
        body[1].bias.uniform_(-0.5, 0.5)
    return body


def test_chunked_on_a_pool_equals_one_pass_and_restores_threads():
    body = _tiny_body()
    batch = torch.rand(19, 3, 12, 12)
    with torch.no_grad():
        whole = body(batch)
    threads = torch.get_num_threads()
    with cpu_forward_pool(body) as (pool, workers), torch.no_grad():
        assert torch.get_num_threads() == 1
        side_by_side = chunked(body, batch, pool, workers)
    assert torch.get_num_threads() == threads
    assert body[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(side_by_side, whole, atol=1e-5)


def test_quick_features_equal_the_plain_body_on_decoded_images(tmp_path):
    rng = np.random.default_rng(3)
    paths = []
    for i in range(11):  # a batch of 8 and a short one of 3
        path = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 256, (20, 16, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    (tmp_path / "bad.png").write_text("not a picture")
    paths.insert(4, tmp_path / "bad.png")
    meta = Preprocessing(12, "squish")
    body = _tiny_body()
    trained = {k: v.clone() for k, v in body.state_dict().items()}
    features, bad = extract_features(paths, body, meta, torch.device("cpu"), batch_size=8)
    # The features come from a folded copy; the body the model file will hold is untouched.
    assert isinstance(body[1], nn.BatchNorm2d)
    assert all(torch.equal(v, body.state_dict()[k]) for k, v in trained.items())
    assert list(bad) == [tmp_path / "bad.png"]
    good = [p for p in paths if p not in bad]
    pixels = [
        torch.from_numpy(np.asarray(Image.open(p).convert("RGB").resize((12, 12), 2)).copy())
        for p in good
    ]
    x = torch.stack(pixels).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        expected = AdaptiveConcatPool2d()(body(x)).flatten(1)
    assert features.shape == expected.shape
    assert torch.allclose(features, expected, atol=1e-5)
