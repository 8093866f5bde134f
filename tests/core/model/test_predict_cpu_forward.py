"""The forward path: channels_last chunks side by side give one whole pass's scores; batch sizes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import tiny_meta
from PIL import Image
from torch import nn

from sorter.core.model.meta import Preprocessing
from sorter.core.model.modelfile import LoadedModel
from sorter.core.model.predict import (
    CPU_BATCH,
    CPU_CHUNK,
    auto_batch_size,
    forward_scores,
    score_images,
)

META = tiny_meta(
    ["a", "b", "c"], input_size=16, normalize={"mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]}
)


def tiny_model() -> LoadedModel:
    torch.manual_seed(0)
    network = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, groups=8),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    ).eval()
    return LoadedModel(Path("tiny.pth"), META, network, torch.device("cpu"))


def test_chunked_forward_equals_one_whole_pass():
    model = tiny_model()
    n = 2 * CPU_CHUNK + 3  # a last chunk that is not full
    batch = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8)
    whole = model.scores(batch)
    with ThreadPoolExecutor(2) as pool:
        side_by_side = forward_scores(model, batch, pool)
    one_by_one = forward_scores(model, batch)
    for chunked in (side_by_side, one_by_one):
        assert chunked.shape == (n, 3)
        assert torch.allclose(chunked, whole, atol=1e-5)


def test_scoring_on_cpu_uses_channels_last_and_keeps_order(tmp_path):
    model = tiny_model()
    rng = np.random.default_rng(1)
    paths = []
    for i in range(CPU_CHUNK + 2):
        path = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    expected = [model.scores(_one(model, p)).squeeze(0) for p in paths]
    threads = torch.get_num_threads()
    got = list(score_images(model, paths, batch_size=len(paths), threads=2))
    assert torch.get_num_threads() == threads  # torch's thread count is given back
    assert [s.path for s in got] == paths
    for scored, want in zip(got, expected, strict=True):
        assert torch.allclose(torch.tensor(scored.scores), want, atol=1e-5)
    weight = model.scoring_network.get_submodule("0").weight
    assert weight.is_contiguous(memory_format=torch.channels_last)


def _one(model: LoadedModel, path: Path) -> torch.Tensor:
    from sorter.core.model.predict import open_image, preprocess

    return preprocess(open_image(path), model.meta.preprocessing).unsqueeze(0)


def _on(device: str, input_size: int = 224) -> LoadedModel:
    # auto_batch_size reads only the device and the input size; no card is needed to test it.
    model = tiny_model()
    model.device = torch.device(device)
    model.meta = model.meta.replace(preprocessing=Preprocessing(input_size))
    return model


@pytest.mark.parametrize(
    ("free_gib", "input_size", "batch"),
    [(70.0, 224, 256), (8.0, 224, 128), (4.0, 224, 64), (1.0, 224, 32), (4.0, 448, 32)],
)
def test_gpu_batch_size_follows_the_cards_free_memory(monkeypatch, free_gib, input_size, batch):
    free = int(free_gib * 2**30)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free, 2 * free))
    assert auto_batch_size(_on("cuda", input_size)) == batch


def test_cpu_batch_size_and_an_unreadable_card_fall_back_to_32(monkeypatch):
    assert auto_batch_size(_on("cpu")) == CPU_BATCH == 32

    def no_driver(device=None):
        raise RuntimeError("CUDA driver version is insufficient")

    monkeypatch.setattr(torch.cuda, "mem_get_info", no_driver)
    assert auto_batch_size(_on("cuda")) == CPU_BATCH


def test_scoring_without_a_batch_size_uses_the_devices(tmp_path, monkeypatch):
    from sorter.core.model import predict

    monkeypatch.setattr(predict, "auto_batch_size", lambda model: 3)
    reports = []
    paths = [tmp_path / f"{i}.png" for i in range(7)]
    for path in paths:
        Image.new("RGB", (16, 16), (40, 80, 120)).save(path)
    got = list(score_images(tiny_model(), paths, progress=reports.append))
    assert len(got) == 7
    assert [p.done for p in reports] == [3, 6, 7]  # one report a batch of 3
