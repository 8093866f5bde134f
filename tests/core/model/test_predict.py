"""The predictor: every image mode to RGB, bad files, fastai-style resizing, streaming scores."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from fakes import tiny_meta
from PIL import Image
from torch import nn

from sorter.core.errors import ImageError
from sorter.core.jobs import Cancelled, CancelToken
from sorter.core.model.meta import IMAGENET, Preprocessing
from sorter.core.model.modelfile import LoadedModel
from sorter.core.model.predict import ScoredImage, open_image, preprocess, score_images

WHITE, RED = (255, 255, 255), (255, 0, 0)


def save(img: Image.Image, path: Path, **kwargs) -> Path:
    img.save(path, **kwargs)
    return path


def pixel(img: Image.Image, xy=(0, 0)) -> tuple[int, int, int]:
    assert img.mode == "RGB"
    return img.getpixel(xy)


# ---- open_image: modes ---------------------------------------------------------------------------


def test_rgba_transparency_goes_on_white(tmp_path):
    img = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    img.putpixel((1, 1), (255, 0, 0, 255))
    out = open_image(save(img, tmp_path / "a.png"))
    assert pixel(out, (0, 0)) == WHITE and pixel(out, (1, 1)) == RED


def test_half_transparent_pixel_is_blended_with_white(tmp_path):
    out = open_image(save(Image.new("RGBA", (2, 2), (0, 0, 0, 128)), tmp_path / "h.png"))
    assert all(abs(c - 127) <= 1 for c in pixel(out))


def test_la_image(tmp_path):
    img = Image.new("LA", (2, 2), (0, 0))
    img.putpixel((1, 0), (0, 255))
    out = open_image(save(img, tmp_path / "la.png"))
    assert pixel(out, (0, 0)) == WHITE and pixel(out, (1, 0)) == (0, 0, 0)


def test_palette_with_transparent_index(tmp_path):
    img = Image.new("P", (2, 2), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((1, 1), 1)
    path = save(img, tmp_path / "p.gif", transparency=0)
    out = open_image(path)
    assert pixel(out, (0, 0)) == WHITE and pixel(out, (1, 1)) == RED


def test_palette_without_transparency(tmp_path):
    img = Image.new("P", (2, 2), 1)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    assert pixel(open_image(save(img, tmp_path / "p.png"))) == (0, 0, 255)


@pytest.mark.parametrize(("mode", "value", "expected"), [("1", 1, WHITE), ("L", 100, (100,) * 3)])
def test_bilevel_and_grey(tmp_path, mode, value, expected):
    out = open_image(save(Image.new(mode, (3, 3), value), tmp_path / f"{mode}.png"))
    assert pixel(out) == expected


def test_cmyk_jpeg(tmp_path):
    img = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    out = open_image(save(img, tmp_path / "c.jpg", quality=95))
    r, g, b = pixel(out, (8, 8))
    assert r > 200 and g < 60 and b < 60


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)
    path = save(Image.fromarray(values), tmp_path / "deep.png")
    assert Image.open(path).mode.startswith("I")
    out = open_image(path)
    assert [pixel(out, (x, 0))[0] for x in range(3)] == [0, 128, 255]


def test_32bit_int_and_float_tiffs(tmp_path):
    ints = Image.fromarray(np.array([[0, 65535]], dtype=np.int32))
    assert ints.mode == "I"
    assert pixel(open_image(save(ints, tmp_path / "i.tif")), (1, 0)) == WHITE
    floats = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert floats.mode == "F"
    out = open_image(save(floats, tmp_path / "f.tif"))
    assert [pixel(out, (x, 0))[0] for x in range(3)] == [0, 128, 255]


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), RED)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out = open_image(save(img, tmp_path / "rot.jpg", exif=exif.tobytes()))
    assert out.size == (20, 40)


def test_first_frame_of_animation(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in (RED, (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert pixel(open_image(path)) == RED


def test_heic(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = tmp_path / "photo.heic"
    try:
        Image.new("RGB", (64, 48), RED).save(path, quality=90)
    except (OSError, KeyError, ValueError) as exc:  # no HEVC encoder in this libheif build
        pytest.skip(f"cannot write HEIC here: {exc}")
    out = open_image(path)
    assert out.size == (64, 48)
    r, g, b = pixel(out, (32, 24))
    assert r > 200 and g < 60 and b < 60


# ---- open_image: size handling -------------------------------------------------------------------


def jpeg(path: Path, size: tuple[int, int]) -> Path:
    rng = np.random.default_rng(0)
    array = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    return save(Image.fromarray(array), path, quality=80)


def test_jpeg_draft_decodes_small_but_not_below_the_hint(tmp_path):
    path = jpeg(tmp_path / "big.jpg", (800, 600))
    assert open_image(path, size_hint=64).size == (100, 75)  # 1/8 scale, still >= 64
    assert open_image(path, size_hint=224).size == (400, 300)  # 1/4 would go below 224
    assert open_image(path, size_hint=0).size == (800, 600)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)
    between = save(Image.new("RGB", (300, 300)), tmp_path / "a.png")  # 90 kpx: Pillow only warns
    beyond = save(Image.new("RGB", (400, 400)), tmp_path / "b.png")  # 160 kpx: Pillow raises
    for path, mp in ((between, "0.1"), (beyond, "0.2")):
        with pytest.raises(ImageError, match=rf"too large: {mp} megapixels, limit 0\.1"):
            open_image(path)


def test_huge_jpeg_that_draft_shrinks_is_accepted(tmp_path, monkeypatch):
    path = jpeg(tmp_path / "huge.jpg", (1600, 1600))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)
    assert open_image(path, size_hint=64).size == (200, 200)
    with pytest.raises(ImageError, match="too large"):
        open_image(path, size_hint=1600)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"this is a text file, not a photo\n" * 5, "not an image"),
    ],
)
def test_unreadable_files(tmp_path, content, reason):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason):
        open_image(path)


def test_truncated_jpeg(tmp_path):
    data = jpeg(tmp_path / "full.jpg", (200, 200)).read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated"):
        open_image(path, size_hint=0)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        open_image(tmp_path / "gone.png")


def test_open_image_writes_nothing(tmp_path):
    path = jpeg(tmp_path / "x.jpg", (300, 200))
    before = sorted(os.listdir(tmp_path))
    open_image(path)
    assert sorted(os.listdir(tmp_path)) == before


# ---- preprocess ----------------------------------------------------------------------------------


def three_bands(width: int = 60, height: int = 30) -> Image.Image:
    """Red left quarter, green middle half, blue right quarter."""
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 4, 0] = 255
    array[:, width // 4 : 3 * width // 4, 1] = 255
    array[:, 3 * width // 4 :, 2] = 255
    return Image.fromarray(array)


def meta_for(method: str, size: int = 16, normalize=None) -> Preprocessing:
    return Preprocessing(size, method, normalize)


def test_crop_keeps_the_centre():
    x = preprocess(three_bands(), meta_for("crop"))
    assert x.shape == (3, 16, 16) and x.dtype == torch.float32
    assert torch.all(x[1] == 1.0) and torch.all(x[0] == 0) and torch.all(x[2] == 0)


def test_squish_keeps_everything():
    x = preprocess(three_bands(), meta_for("squish"))
    assert x[0, :, 0].min() == 1.0 and x[2, :, -1].min() == 1.0 and x[1, :, 8].min() == 1.0


def test_pad_reflects_the_short_side():
    img = Image.new("RGB", (60, 30), (10, 20, 30))
    img.paste((200, 200, 200), (0, 0, 60, 1))  # a bright top row, reflected into the padding
    x = preprocess(img, meta_for("pad", size=60))
    assert x.shape == (3, 60, 60)
    assert (x[:, 15, :] * 255).round().eq(200).all()  # the original top row, 15 px down
    # Reflection (not edge copy): the row above the original top row mirrors the row below it.
    assert torch.equal(x[:, 14, :], x[:, 16, :])
    assert (x[:, 14, 0] * 255).round().tolist() == [10, 20, 30]


def test_normalisation_uses_meta_stats():
    img = Image.new("RGB", (8, 8), (255, 0, 128))
    x = preprocess(img, meta_for("squish", 8, IMAGENET))
    mean, std = IMAGENET.mean, IMAGENET.std
    expected = [(v / 255 - m) / s for v, m, s in zip((255, 0, 128), mean, std, strict=True)]
    assert torch.allclose(x[:, 0, 0], torch.tensor(expected), atol=1e-6)


# ---- score_images --------------------------------------------------------------------------------


class MeanColour(nn.Module):
    """Logits = mean of each channel: predictable scores without a real network."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


@pytest.fixture
def colour_model() -> LoadedModel:
    meta = tiny_meta(["red", "green", "blue"], input_size=16)
    return LoadedModel(Path("colour.pth"), meta, MeanColour(), torch.device("cpu"))


def colour_files(tmp_path: Path, n: int, bad: set[int] = frozenset()) -> list[Path]:
    paths = []
    for i in range(n):
        path = tmp_path / f"{i:03d}.png"
        if i in bad:
            path.write_bytes(b"broken")
        else:
            save(Image.new("RGB", (20 + i, 10), (i * 10, 0, 255 - i * 10)), path)
        paths.append(path)
    return paths


def test_scores_in_order_with_errors_inline(tmp_path, colour_model):
    paths = colour_files(tmp_path, 7, bad={2, 5})
    results = list(score_images(colour_model, paths, batch_size=3, threads=2))
    assert [r.path for r in results] == paths
    assert [r.scores is None for r in results] == [i in {2, 5} for i in range(7)]
    assert "not an image" in results[2].error and results[0].error is None
    for i, r in enumerate(results):
        if r.scores is not None:
            expected = torch.sigmoid(torch.tensor([i * 10 / 255, 0.0, (255 - i * 10) / 255]))
            assert r.scores == pytest.approx(expected.tolist(), abs=1e-6)


def test_threaded_scores_equal_direct_preprocess(tmp_path, colour_model):
    path = save(three_bands(45, 31), tmp_path / "bands.png")
    (result,) = score_images(colour_model, [path])
    pre = colour_model.meta.preprocessing
    direct = colour_model.scores(preprocess(open_image(path), pre)[None])
    assert result.scores == pytest.approx(direct[0].tolist(), abs=1e-6)


def test_progress_once_per_batch(tmp_path, colour_model):
    reports = []
    paths = colour_files(tmp_path, 7)
    list(score_images(colour_model, paths, batch_size=3, progress=reports.append))
    assert [(p.done, p.total) for p in reports] == [(3, 7), (6, 7), (7, 7)]


def test_cancel_stops_after_the_current_batch(tmp_path, colour_model):
    token = CancelToken()
    paths = colour_files(tmp_path, 9)
    got: list[ScoredImage] = []
    with pytest.raises(Cancelled):
        stream = score_images(
            colour_model, paths, batch_size=3, progress=lambda _: token.cancel(), cancel=token
        )
        for item in stream:
            got.append(item)
    assert len(got) == 3


def test_streams_with_bounded_look_ahead(tmp_path, colour_model):
    pulled = 0

    def endless_paths():
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield tmp_path / f"missing-{i}.png"

    stream = score_images(colour_model, endless_paths(), batch_size=4, threads=2)
    first = next(stream)
    assert first.error == "file not found"
    # two batches decoding ahead, one being scored, one handed out; never the whole input
    assert pulled <= 4 * 4
    stream.close()


def test_empty_input(colour_model):
    assert list(score_images(colour_model, [])) == []


def test_many_images_in_memory_formats(tmp_path, colour_model):
    # Mixed formats and modes in one run all come out scored.
    paths = []
    for i, (mode, ext) in enumerate([("RGB", "jpg"), ("L", "png"), ("RGBA", "webp"), ("P", "bmp")]):
        paths.append(save(Image.new(mode, (30, 20)), tmp_path / f"{i}.{ext}"))
    assert all(r.scores is not None for r in score_images(colour_model, paths))


def test_a_folder_is_not_an_image(tmp_path):
    with pytest.raises(ImageError, match="a folder"):
        open_image(tmp_path)


def test_lab_image(tmp_path):
    out = open_image(save(Image.new("LAB", (4, 4), (255, 128, 128)), tmp_path / "lab.tif"))
    assert out.mode == "RGB" and all(c > 240 for c in pixel(out))  # full L, neutral a, b


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_damaged_exif_keeps_the_picture(tmp_path):
    path = save(
        Image.new("RGB", (16, 8), RED), tmp_path / "exif.jpg", exif=b"Exif\x00\x00MM\x00*junk"
    )
    out = open_image(path)
    assert out.size == (16, 8)
