"""Helpers for the sorting tests: tiny real images, a fake scorer, a tiny real model, hashes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from model_helpers import make_tiny_model  # noqa: F401 (shared; imported from here by tests)
from PIL import Image

from sorter.core.jobs import CancelToken
from sorter.core.model.predict import ScoredImage


def make_image(path: Path, color: tuple[int, int, int] = (200, 30, 30), size=(24, 16), fmt=None):
    """Write a small real image (format from the extension unless given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format=fmt)
    return path


def tree_hashes(root: Path, skip_state: bool = True) -> dict[str, str]:
    """{relative path: sha256} of every file under root (Sorter's journal folder left out)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        if skip_state:
            dirs[:] = [d for d in dirs if d != ".sorter"]
        for name in files:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():  # links are recorded, not followed (they may loop)
                found[rel] = "link:" + os.readlink(path)
            else:
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@dataclass
class FakeModel:
    """Stands in for LoadedModel: red images are 'cats', blue ones 'dogs', grey ones neither."""

    path: Path
    categories: list[str] = field(default_factory=lambda: ["cats", "dogs"])
    default_threshold: float = 0.5
    thresholds: dict[str, float] = field(default_factory=dict)
    empty_category: str | None = None
    device: str = "cpu"


def fake_score(model, paths, *, batch_size=32, progress=None, cancel: CancelToken | None = None):
    """Scores from the mean colour: red -> cats, blue -> dogs; unreadable files give an error."""
    calls = fake_score.calls  # type: ignore[attr-defined]
    calls.append([Path(p) for p in paths])
    return _fake_iter(paths, cancel)


fake_score.calls = []  # type: ignore[attr-defined]


def _fake_iter(paths, cancel) -> Iterator[ScoredImage]:
    for p in paths:
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            with Image.open(p) as img:
                r, _g, b = img.convert("RGB").resize((1, 1)).getpixel((0, 0))
        except Exception as exc:
            yield ScoredImage(Path(p), None, f"not a readable image ({type(exc).__name__})")
            continue
        yield ScoredImage(Path(p), [r / 255, b / 255])


def photo_hashes(out: Path) -> dict[str, str]:
    """tree_hashes of an output folder without Sorter's report: the photos left in it."""
    found = tree_hashes(out)
    found.pop("sorter-report.csv", None)
    return found
