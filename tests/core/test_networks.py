"""Networks rebuilt from metadata: shapes, keys and errors, in plain torch (no fastai import)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from sorter.core.errors import ModelFileError
from sorter.core.networks import AdaptiveConcatPool2d, build_network, fastai_head, fastai_network


def meta(arch: str, builder: str, n: int) -> dict:
    return {"arch": arch, "builder": builder, "n_outputs": n}


@pytest.mark.parametrize("arch", ["mobilenet_v2", "resnet18"])
def test_fastai_network_forward_shape(arch):
    net = build_network(meta(arch, "fastai", 3)).eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, 64, 64))
    assert out.shape == (2, 3)


@pytest.mark.parametrize(
    ("arch", "features"),
    [("mobilenet_v2", 1280), ("resnet18", 512), ("resnet34", 512), ("resnet50", 2048)],
)
def test_fastai_head_sizes(arch, features):
    net = fastai_network(arch, 5)
    body, head = net[0], net[1]
    assert isinstance(head[0], AdaptiveConcatPool2d)
    assert head[2].num_features == 2 * features
    assert head[4].in_features == 2 * features and head[4].bias is None
    assert head[-1].out_features == 5
    # The body is the torchvision network minus its classifier (resnet: minus avgpool and fc).
    assert not any(isinstance(m, nn.Linear) for m in body.modules())


def test_torchvision_builder_keeps_its_classifier():
    net = build_network(meta("mobilenet_v2", "torchvision", 1000))
    keys = net.state_dict().keys()
    assert "classifier.1.weight" in keys and "features.0.0.weight" in keys
    assert net.state_dict()["classifier.1.weight"].shape == (1000, 1280)


def test_concat_pool_puts_max_before_average():
    x = torch.tensor([[[[0.0, 4.0]]]])  # one channel: max 4, mean 2
    assert AdaptiveConcatPool2d()(x).flatten().tolist() == [4.0, 2.0]


def test_head_initialisation_is_random_but_bn_is_identity():
    head = fastai_head(8, 2)
    assert torch.all(head[2].weight == 1) and torch.all(head[2].bias == 0)
    assert head[4].weight.std() > 0


@pytest.mark.parametrize(
    ("m", "message"),
    [
        (meta("vgg16", "fastai", 2), "Unknown architecture 'vgg16'"),
        (meta("resnet18", "timm", 2), "Unknown network builder 'timm'"),
    ],
)
def test_unknown_arch_or_builder(m, message):
    with pytest.raises(ModelFileError, match=message):
        build_network(m)


def test_sorting_side_never_imports_fastai():
    code = (
        "import sys\n"
        "from sorter.core import model, predict, networks\n"
        "networks.build_network({'arch': 'resnet18', 'builder': 'fastai', 'n_outputs': 2})\n"
        "print('fastai' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
