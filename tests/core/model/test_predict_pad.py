"""The pad resize: numpy padding gives torchvision's pixels without importing torchvision."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from sorter.core.model.predict import PAD_MODES, _pad, resize_like_fastai


def noise(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("mode", sorted(PAD_MODES.values()))
@pytest.mark.parametrize(
    ("size", "near", "far"),
    [
        ((7, 19), (6, 0), (6, 0)),  # tall: grown left and right
        ((23, 5), (0, 9), (0, 9)),  # wide: grown above and below
        ((9, 4), (1, 2), (0, 3)),  # odd, uneven sides
        ((3, 11), (5, 0), (4, 0)),  # padding wider than the image: reflect folds more than once
    ],
)
def test_pad_equals_torchvision(mode, size, near, far):
    from torchvision.transforms.functional import pad as tv_pad

    img = noise(*size, seed=size[0] * 31 + size[1])
    ours = _pad(img, near, far, mode)
    theirs = tv_pad(img, [*near, *far], padding_mode=mode)
    assert ours.mode == theirs.mode == "RGB"
    assert ours.size == theirs.size == (size[0] + near[0] + far[0], size[1] + near[1] + far[1])
    assert np.array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.mark.parametrize("pad_mode", sorted(PAD_MODES))
@pytest.mark.parametrize("size", [(13, 40), (41, 6)])
def test_pad_resize_pixels_equal_torchvision_route(pad_mode, size, monkeypatch):
    from torchvision.transforms.functional import pad as tv_pad

    import sorter.core.model.predict as predict

    img = noise(*size, seed=size[0])
    ours = np.asarray(resize_like_fastai(img, 24, "pad", pad_mode))
    monkeypatch.setattr(predict, "_pad", lambda im, n, f, m: tv_pad(im, [*n, *f], padding_mode=m))
    theirs = np.asarray(resize_like_fastai(img, 24, "pad", pad_mode))
    assert ours.shape == (24, 24, 3)
    assert np.array_equal(ours, theirs)


def test_pad_resize_imports_no_torchvision():
    code = (
        "import sys\n"
        "from PIL import Image\n"
        "from sorter.core.model.predict import resize_like_fastai\n"
        "resize_like_fastai(Image.new('RGB', (10, 30)), 16, 'pad')\n"
        "assert 'torchvision' not in sys.modules, 'torchvision was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
