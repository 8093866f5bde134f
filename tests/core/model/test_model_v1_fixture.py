"""Model files saved before typed metadata (a dict in "sorter-model" version 1) still load."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import pytest

from sorter.core.model.modelfile import load_model
from sorter.core.model.predict import score_images

DATA = Path(__file__).resolve().parents[2] / "data"
NOTE = json.loads((DATA / "model-v1-dict-meta.json").read_text())


@pytest.fixture
def v1_model(tmp_path: Path) -> Path:
    """The committed v1 file, unpacked (it is stored lzma-compressed)."""
    path = tmp_path / "old.pth"
    path.write_bytes(lzma.decompress((DATA / "model-v1-dict-meta.pth.xz").read_bytes()))
    return path


def _images(folder: Path) -> list[Path]:
    from PIL import Image

    paths = []
    for image in NOTE["images"]:
        img = Image.new("RGB", (40, 30), tuple(image["left"]))
        img.paste(Image.new("RGB", (20, 30), tuple(image["right"])), (20, 0))
        img.save(folder / f"{image['name']}.png")
        paths.append(folder / f"{image['name']}.png")
    return paths


def test_v1_file_loads_with_its_metadata(v1_model: Path) -> None:
    model = load_model(v1_model, device="cpu")
    assert model.categories == ["cats", "dogs", "cars"]
    assert model.default_threshold == 0.5
    assert model.thresholds == {"cats": 0.5, "dogs": 0.5, "cars": 0.5}
    assert model.empty_category is None
    assert not model.exclusive  # written before single-label models: multi-label


def test_v1_file_scores_as_when_it_was_written(v1_model: Path, tmp_path: Path) -> None:
    model = load_model(v1_model, device="cpu")
    scored = list(score_images(model, _images(tmp_path), batch_size=4))
    got = [score for s in scored for score in s.scores]
    assert got == pytest.approx([x for row in NOTE["scores"] for x in row], abs=1e-5)
