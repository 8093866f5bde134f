"""Folding BatchNorm into the convolution before it: same scores, fewer layers, source untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from fakes import network_meta, tiny_meta
from torch import nn

from sorter.core.model.fold_bn import count_batchnorms, fold_batchnorm
from sorter.core.model.modelfile import LoadedModel
from sorter.core.model.networks import build_network


def _random_stats(network: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial running statistics and affine terms, so a wrong fold would show."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in network.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) * 2 - 1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.rand(n, generator=gen) - 0.5)
    return network.eval()


@pytest.mark.parametrize(
    ("builder", "arch"),
    [("fastai", "mobilenet_v2"), ("fastai", "resnet18"), ("torchvision", "mobilenet_v2")],
)
def test_every_batchnorm_of_the_shipped_archs_folds_and_scores_stay(builder, arch):
    network = _random_stats(build_network(network_meta(arch, builder, 4)))
    before = {k: v.clone() for k, v in network.state_dict().items()}
    folded = fold_batchnorm(network)
    assert count_batchnorms(network) > 0
    assert count_batchnorms(folded) == 0
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        want, got = network(x), folded(x)
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4 * want.abs().max().item())
    after = network.state_dict()  # the trained network itself is not touched
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_conv_whose_output_is_also_used_elsewhere_is_left_alone():
    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)
            self.bn = nn.BatchNorm2d(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            return self.bn(y) + y  # folding would change the second use of y

    network = _random_stats(Shared())
    folded = fold_batchnorm(network)
    assert count_batchnorms(folded) == 1
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(folded(x), network(x), atol=1e-6)


def test_training_mode_and_untraceable_networks_come_back_as_plain_copies():
    class Branchy(nn.Module):  # data-dependent control flow: torch.fx cannot trace it
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)
            self.bn = nn.BatchNorm2d(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.bn(self.conv(x)) if x.sum() > 0 else x

    untraceable = _random_stats(Branchy())
    training = _random_stats(nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3))).train()
    for network in (untraceable, training):
        copied = fold_batchnorm(network)
        assert copied is not network
        assert count_batchnorms(copied) == 1
    x = torch.rand(2, 3, 4, 4)
    assert torch.allclose(fold_batchnorm(untraceable)(x), untraceable(x))


def test_loaded_model_scores_through_a_folded_copy_made_again_for_a_new_network():
    torch.manual_seed(0)
    first = _random_stats(_conv_bn_pool())
    meta = tiny_meta(list("abcd"), input_size=8)
    model = LoadedModel(Path("m.pth"), meta, first, torch.device("cpu"))
    batch = torch.rand(2, 3, 8, 8)
    scoring = model.scoring_network
    assert model.scoring_network is scoring  # made once
    assert count_batchnorms(scoring) == 0
    assert torch.allclose(model.scores(batch), torch.sigmoid(first(batch)), atol=1e-6)

    second = _random_stats(_conv_bn_pool(), seed=5)
    model.network = second
    assert model.scoring_network is not scoring
    assert torch.allclose(model.scores(batch), torch.sigmoid(second(batch)), atol=1e-6)


def _conv_bn_pool() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
    )
