"""EfficientNet-Lite0 and the MobileNetV2 + EfficientNet-Lite0 pair training uses by default."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sorter import appdirs
from sorter.core.model.arch_names import DEFAULT_ARCH, PAIR
from sorter.core.model.effnet_lite import (
    ConvBNAct,
    EfficientNetLite0,
    MobileNetV2Lite0,
    lite0_state_from_release,
)
from sorter.core.model.fold_bn import count_batchnorms, fold_batchnorm
from sorter.core.model.meta import IMAGENET, Preprocessing, Stats
from sorter.core.model.networks import BODY_FEATURES, fastai_network
from sorter.core.model.predict import open_image, preprocess
from sorter.core.training import backbone

LITE0 = appdirs.asset_path("weights", backbone.LITE0_FILE)
LITE_PRE = Preprocessing(224, "crop", Stats(mean=(0.5,) * 3, std=(0.5,) * 3))


@pytest.fixture(scope="module")
def lite0() -> EfficientNetLite0:
    net = EfficientNetLite0()
    release = torch.load(LITE0, map_location="cpu", weights_only=True)
    net.load_state_dict(lite0_state_from_release(release))
    return net.eval()


def test_training_uses_the_pair_unless_told_otherwise():
    from sorter.core.training.options import TrainOptions

    assert DEFAULT_ARCH == PAIR
    assert TrainOptions().arch == PAIR


@pytest.mark.parametrize(
    ("photo", "classes"),
    [("cat-chelsea.jpg", range(281, 286)), ("fire-engine.jpg", [555])],  # cats; fire engine
)
def test_the_released_weights_recognise_imagenet_photos(lite0, photo, classes):
    # A wrong layer order, padding or normalisation still loads (the shapes agree) but stops
    # naming these photos right.
    x = preprocess(open_image(appdirs.asset_path("samples", photo), 224), LITE_PRE)[None]
    with torch.inference_mode():
        probabilities = lite0(x).softmax(1)[0]
    assert int(probabilities.argmax()) in classes
    assert float(probabilities.max()) > 0.3


def test_stride_two_layers_pad_as_tensorflow_same_does():
    # TensorFlow "same": total padding (out - 1) * stride + kernel - size, the larger half after.
    net = EfficientNetLite0().eval()
    seen = []

    def record(module, args):
        seen.append((module, args[0].shape[-1]))

    hooks = [m.register_forward_pre_hook(record) for m in net.modules() if isinstance(m, ConvBNAct)]
    with torch.inference_mode():
        net(torch.zeros(1, 3, 224, 224))
    for hook in hooks:
        hook.remove()
    strided = [(m, size) for m, size in seen if m[1].stride == (2, 2)]
    assert len(strided) == 5
    for module, size in strided:
        kernel = module[1].kernel_size[0]
        total = (-(-size // 2) - 1) * 2 + kernel - size
        left, right, top, bottom = module[0].padding
        assert (left, top) == (total // 2, total // 2)
        assert (right, bottom) == (total - total // 2, total - total // 2)


def test_a_file_of_other_weights_is_refused_with_the_reason():
    from sorter.core.model.archs import mobilenet_v2

    with pytest.raises(ValueError, match="not its weights"):
        lite0_state_from_release(mobilenet_v2().state_dict())
    release = EfficientNetLite0().state_dict()
    release["features.0.1.weight"] = torch.zeros(16, 3, 3, 3)
    with pytest.raises(ValueError, match=r"shape \(16, 3, 3, 3\)"):
        lite0_state_from_release(release)


def test_the_lite_half_sees_the_pixels_its_weights_were_trained_on():
    pair = MobileNetV2Lite0().eval()
    pixels = torch.rand(2, 3, 64, 64)
    mean = torch.tensor(IMAGENET.mean).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET.std).view(1, 3, 1, 1)
    seen = {}
    pair.features.lite.register_forward_pre_hook(lambda m, a: seen.update(x=a[0]))
    with torch.inference_mode():
        out = pair.features((pixels - mean) / std)
    torch.testing.assert_close(seen["x"], (pixels - 0.5) / 0.5, atol=1e-5, rtol=0)
    assert out.shape == (2, 2560, 2, 2)
    assert not any("scale" in k or "shift" in k for k in pair.state_dict())


@pytest.fixture(scope="module")
def pair_body() -> nn.Module:
    weights = backbone.find_pretrained_weights(PAIR)
    assert weights == LITE0
    return backbone.pretrained_body(PAIR, weights).eval()


def test_the_pretrained_pair_puts_both_networks_maps_side_by_side(pair_body, lite0):
    mobilenet = backbone.pretrained_body(
        "mobilenet_v2", backbone.find_pretrained_weights("mobilenet_v2")
    ).eval()
    pre = Preprocessing(224, "crop", IMAGENET)
    photo = open_image(appdirs.asset_path("samples", "peacock.jpg"), 224)
    x = preprocess(photo, pre)[None]
    with torch.inference_mode():
        both = pair_body(x)
        alone = mobilenet(x)
        lite = lite0.features(preprocess(photo, LITE_PRE)[None])
    assert both.shape == (1, BODY_FEATURES[PAIR], 7, 7)
    torch.testing.assert_close(both[:, :1280], alone)
    torch.testing.assert_close(both[:, 1280:], lite, atol=1e-4, rtol=1e-4)


def test_folding_batchnorm_keeps_the_pairs_scores(pair_body):
    network = nn.Sequential(pair_body, fastai_network(PAIR, 3)[1]).eval()
    folded = fold_batchnorm(network)
    assert count_batchnorms(folded) == 0
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), network(x), atol=1e-3, rtol=1e-3)


def test_the_pair_needs_both_files(monkeypatch, tmp_path):
    # Only the Lite0 file: the pair is not available (MobileNetV2's half would be random).
    (tmp_path / backbone.LITE0_FILE).write_bytes(LITE0.read_bytes())
    monkeypatch.setattr(appdirs, "asset_path", lambda *parts: tmp_path.joinpath(*parts[1:]))
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert backbone.find_pretrained_weights("mobilenet_v2") is None
    assert backbone.find_pretrained_weights(PAIR) is None
    with pytest.raises(backbone.BackboneError, match="needs MobileNetV2"):
        backbone.torchvision_pretrained(PAIR, tmp_path / backbone.LITE0_FILE)


@pytest.mark.parametrize("arch", ["mobilenet_v2", PAIR])
def test_a_weights_file_of_another_network_stops_with_a_clear_error(tmp_path, arch):
    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(2, 2)}, wrong, pickle_protocol=2)
    with pytest.raises(backbone.BackboneError, match="cannot be used"):
        backbone.torchvision_pretrained(arch, wrong)
