"""Tests for kept images: the confident copies of earlier sorts that a retrain learns from."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import BLUE, RED, FakeModel, fake_score, noisy_image, tiny_meta

from sorter.core.files import file_sha256
from sorter.core.learning.data import gather
from sorter.core.learning.kept import kept_images
from sorter.core.learning.queue import CorrectionQueue
from sorter.core.sorting.outputs import known_outputs
from sorter.core.sorting.sort import sort_folder

CATEGORIES = ["red", "blue"]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output sorted by a single-label fake: 4 sure reds, 4 sure blues, 1 close call."""
    src = tmp_path / "photos"
    scores = {}
    for i in range(4):
        noisy_image(src / f"r{i}.png", RED, i)
        noisy_image(src / f"b{i}.png", BLUE, 10 + i)
        scores[f"r{i}.png"], scores[f"b{i}.png"] = [0.9, 0.1], [0.1, 0.9]
    noisy_image(src / "close.png", RED, 20)
    scores["close.png"] = [0.55, 0.45]  # placed in red, but by a margin of 0.1
    model = FakeModel(categories=CATEGORIES, exclusive=True, scores_by_name=scores)
    sort_folder(src, tmp_path / "out", model=model, score=fake_score)
    return tmp_path / "out"


def _names(images) -> dict[str, tuple[str, ...]]:
    return {i.path.name: i.labels for i in images}


def test_confident_copies_still_in_their_folder_are_kept(out: Path) -> None:
    found = kept_images([out], CATEGORIES, set())
    assert _names(found) == {
        **{f"r{i}.png": ("red",) for i in range(4)},
        **{f"b{i}.png": ("blue",) for i in range(4)},
    }
    assert all(i.path.parent.parent == out for i in found)  # the copies, not the sources
    assert kept_images([out], ["green"], set()) == []  # a model without those categories
    assert len(kept_images([out], ["blue", "green", "red"], set())) == 8  # a later version's
    assert kept_images([out], ["red"], set()) == []  # sorted by a model with other categories


def test_a_deleted_edited_or_corrected_copy_is_not_kept(out: Path) -> None:
    (out / "red" / "r0.png").unlink()
    edited = out / "red" / "r1.png"
    data = bytearray(edited.read_bytes())
    data[-20] ^= 0xFF  # same size, other content: the user edited it after sorting
    edited.write_bytes(bytes(data))
    moved = out / "blue" / "b1.png"
    moved.rename(out / "red" / "b1.png")  # the user moved it by hand
    corrected = {file_sha256(out / "blue" / "b0.png")}
    found = _names(kept_images([out], CATEGORIES, corrected))
    assert set(found) == {"r2.png", "r3.png", "b2.png", "b3.png"}


def test_kept_images_are_capped_per_category(out: Path) -> None:
    found = kept_images([out, out], CATEGORIES, set(), per_category=2)
    assert sorted(i.labels[0] for i in found) == ["blue", "blue", "red", "red"]


def test_a_sort_remembers_its_output_and_a_retrain_learns_its_kept_images(
    out: Path, tmp_path: Path
) -> None:
    assert known_outputs() == [out]
    queue = CorrectionQueue()
    queue.add(noisy_image(tmp_path / "g.png", RED, 99), ["blue"])
    meta = tiny_meta(CATEGORIES)
    data = gather(meta, queue, tmp_path / "work")
    assert len(data.kept) == 8 and data.kept_targets().sum(axis=0).tolist() == [4, 4]
    assert any("8 kept image(s)" in note for note in data.notes)
    assert gather(meta, queue, tmp_path / "work2", outputs=[]).kept == []
