"""Networks rebuilt from metadata in plain torch: torchvision's layouts, keys, outputs, errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from fakes import network_meta
from torch import nn

from sorter.core.errors import ModelFileError
from sorter.core.model.networks import (
    BODY_FEATURES,
    FASTAI_CUTS,
    AdaptiveConcatPool2d,
    build_network,
    fastai_body,
    fastai_head,
    fastai_network,
    torchvision_network,
)


def meta(arch: str, builder: str, n: int):
    return network_meta(arch, builder, n)


# network_meta for a child Python, which cannot import the tests' helper modules.
NETWORK_META = (
    "from sorter.core.model.meta import ModelMeta, Preprocessing\n"
    "def network_meta(arch, builder, n):\n"
    "    return ModelMeta(arch, builder, ['all'], 'softmax-groups', n, Preprocessing(32),\n"
    "                     groups={'all': list(range(n))})\n"
)


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
        "from sorter.core.model import modelfile, predict, networks\n"
        f"{NETWORK_META}"
        "networks.build_network(network_meta('resnet18', 'fastai', 2))\n"
        "print('fastai' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# --- The local layouts against torchvision's (the tests may import torchvision; sorting may not).

ALL_ARCHS = ["mobilenet_v2", "resnet18", "resnet34", "resnet50"]


def torchvision_reference(arch: str, n_out: int) -> nn.Module:
    import torchvision

    return getattr(torchvision.models, arch)(weights=None, num_classes=n_out)


def leaves(net: nn.Module) -> list[tuple[str, type]]:
    return [(n, type(m)) for n, m in net.named_modules() if not list(m.children())]


@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_same_layout_as_torchvision(arch):
    ours, theirs = torchvision_network(arch, 7), torchvision_reference(arch, 7)
    our_sd, their_sd = ours.state_dict(), theirs.state_dict()
    assert list(our_sd) == list(their_sd)
    assert [v.shape for v in our_sd.values()] == [v.shape for v in their_sd.values()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    # Every container's name and class name (fastai's equivalence test compares class names).
    assert [(n, type(m).__name__) for n, m in ours.named_modules()] == [
        (n, type(m).__name__) for n, m in theirs.named_modules()
    ]
    assert leaves(ours) == leaves(theirs)


def random_state(net: nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Every float tensor random (batchnorm statistics too, so eval mode matters)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in net.state_dict().items():
        if not value.is_floating_point():
            state[key] = value.clone()
        elif key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(value.shape, generator=gen) * 0.1
    return state


@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_same_outputs_as_torchvision_with_the_same_weights(arch):
    ours, theirs = torchvision_network(arch, 5), torchvision_reference(arch, 5)
    state = random_state(theirs, seed=len(arch))
    theirs.load_state_dict(state, strict=True)
    ours.load_state_dict(state, strict=True)
    ours.eval()
    theirs.eval()
    x = torch.rand(2, 3, 64, 48, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    assert expected.abs().max() > 0
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_fastai_body_is_torchvisions_cut(arch):
    # fastai's create_body(model, cut=int) keeps list(model.children())[:cut]; comparing with that
    # cut of torchvision's own network avoids importing fastai here (the equivalence test does).
    theirs = nn.Sequential(*list(torchvision_reference(arch, 1000).children())[: FASTAI_CUTS[arch]])
    ours = fastai_body(arch)
    our_sd, their_sd = ours.state_dict(), theirs.state_dict()
    assert list(our_sd) == list(their_sd)
    assert [v.shape for v in our_sd.values()] == [v.shape for v in their_sd.values()]
    with torch.no_grad():
        assert ours.eval()(torch.rand(1, 3, 64, 64)).shape[1] == BODY_FEATURES[arch]


@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_initialisation_like_torchvision(arch):
    net = torchvision_network(arch, 3)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(m.weight.std() > 0 for m in convs)
    assert all(torch.all(m.weight == 1) and torch.all(m.bias == 0) for m in norms)
    first = convs[0].weight  # kaiming normal, fan out: std = sqrt(2 / (out * kh * kw))
    fan_out = first.shape[0] * first.shape[2] * first.shape[3]
    assert abs(first.std().item() / (2 / fan_out) ** 0.5 - 1) < 0.2


def test_building_networks_imports_no_torchvision():
    code = (
        "import sys\n"
        "from sorter.core.model import networks\n"
        f"{NETWORK_META}"
        "for arch in networks.ARCHS:\n"
        "    for builder in networks.BUILDERS:\n"
        "        networks.build_network(network_meta(arch, builder, 2))\n"
        "assert 'torchvision' not in sys.modules, 'torchvision was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


def test_every_architecture_name_has_its_cut_and_width_and_needs_no_torch():
    from sorter.core.model import networks
    from sorter.core.model.arch_names import ARCHS

    assert networks.ARCHS is ARCHS
    assert tuple(networks.FASTAI_CUTS) == ARCHS and tuple(networks.BODY_FEATURES) == ARCHS
    code = (
        "import sys; import sorter.core.model.arch_names, sorter.cli.train_cmd, "
        "sorter.cli.model_cmd; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
