"""bench/third_network.py: its EfficientNet-Lite builder, weight mapping, feature split and
per-draw figures, without the released Lite1/2 weights (not a Sorter dependency)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from third_network import (  # noqa: E402
    STAGES,
    LiteOnImageNetInput,
    combo_features,
    evaluate_draw,
    features_state,
    split_pair,
)

from sorter.core.model.effnet_lite import EfficientNetLite0, lite_features  # noqa: E402
from sorter.core.model.meta import IMAGENET  # noqa: E402


def test_stage_tables_match_the_released_networks():
    """The released Lite1 and Lite2 files hold 384 feature tensors (BatchNorm counters
    included) besides the classifier; 21 blocks end in 320 and 352 channels (their shapes,
    read from the files when this bench was written)."""
    lite0 = lite_features(STAGES["lite0"]).state_dict()
    assert list(lite0) == list(EfficientNetLite0().features.state_dict())
    for name, last in (("lite1", 320), ("lite2", 352)):
        body = lite_features(STAGES[name])
        assert len(body.state_dict()) == 384
        assert len(body) == 1 + 21 + 1  # stem, blocks, head
        assert body[-1][1].in_channels == last and body[-1][1].out_channels == 1280


def _release_like(body: nn.Module) -> dict[str, torch.Tensor]:
    """A body's tensors under other names, with a classifier after them, as released."""
    torch.manual_seed(0)
    release = {
        f"_t{i}": torch.randn_like(t.float()).to(t.dtype)
        for i, t in enumerate(body.state_dict().values())
    }
    release["_fc.weight"] = torch.zeros(1000, 1280)
    release["_fc.bias"] = torch.zeros(1000)
    return release


def test_released_weights_pair_up_by_position():
    body = lite_features(STAGES["lite1"])
    release = _release_like(body)
    body.load_state_dict(features_state(body, release, "EfficientNet-Lite1"))
    values = list(body.state_dict().values())
    kept = [t for name, t in release.items() if not name.startswith("_fc")]
    assert all(torch.equal(a, b) for a, b in zip(values, kept, strict=True))


def test_weights_of_another_network_are_refused():
    lite2 = lite_features(STAGES["lite2"])
    with pytest.raises(ValueError, match=r"where EfficientNet-Lite2's .* has"):  # other widths
        features_state(lite2, _release_like(lite_features(STAGES["lite1"])), "EfficientNet-Lite2")
    with pytest.raises(ValueError, match="tensors where EfficientNet-Lite2 has"):
        features_state(lite2, _release_like(lite_features(STAGES["lite0"])), "EfficientNet-Lite2")


def test_lite_input_is_rescaled_from_imagenet_normalisation():
    pixels = torch.rand(2, 3, 4, 4)
    mean = torch.tensor(IMAGENET.mean).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET.std).view(1, 3, 1, 1)
    seen = LiteOnImageNetInput(nn.Identity())((pixels - mean) / std)
    assert torch.allclose(seen, (pixels - 0.5) / 0.5, atol=1e-5)


def test_pair_features_split_into_each_network():
    # pooled pair features: [max of 1280 + 1280 | avg of 1280 + 1280]
    pooled = np.concatenate(
        [
            np.full((3, 1280), 1.0),
            np.full((3, 1280), 2.0),
            np.full((3, 1280), 3.0),
            np.full((3, 1280), 4.0),
        ],
        axis=1,
    )
    halves = split_pair(pooled)
    assert halves["mobilenet_v2"].shape == (3, 2560)
    assert set(np.unique(halves["mobilenet_v2"])) == {1.0, 3.0}
    assert set(np.unique(halves["lite0"])) == {2.0, 4.0}
    arrays = {"pair_test": pooled, "lite2_test": np.full((3, 2560), 5.0)}
    both = combo_features(arrays, "test", ("lite0", "lite2"))
    assert both.shape == (3, 5120) and set(np.unique(both)) == {2.0, 4.0, 5.0}


def _blobs(rng: np.random.Generator, n: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % 3
    centres = np.eye(3, 16) * 4.0
    return (centres[y] + rng.normal(0.0, spread, (n, 16))).astype(np.float32), y


def test_draw_figures_follow_how_separable_the_features_are():
    rng = np.random.default_rng(0)
    x_train, y_train = _blobs(rng, 60, 0.5)
    x_test, y_test = _blobs(rng, 60, 0.5)
    clear = evaluate_draw(x_train, y_train, x_test, y_test, seed=0)
    assert clear["top1"] == 1.0 and clear["exact"] == clear["coverage"] > 0.9
    x_train, y_train = _blobs(rng, 60, 4.0)
    x_test, y_test = _blobs(rng, 60, 4.0)
    noisy = evaluate_draw(x_train, y_train, x_test, y_test, seed=0)
    assert noisy["top1"] < 0.9
    assert noisy["exact"] <= noisy["coverage"]
    if noisy["precision"] is not None:
        assert noisy["precision"] == pytest.approx(noisy["exact"] / noisy["coverage"])
