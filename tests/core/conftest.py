"""Fixtures for the sorting tests (fakes and builders live in tests/fakes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeModel, fake_score, make_image, make_tiny_model


@pytest.fixture
def fake_model(tmp_path) -> FakeModel:
    path = tmp_path / "fake-model.pth"
    path.write_bytes(b"fake model for tests")
    fake_score.calls.clear()  # type: ignore[attr-defined]
    return FakeModel(path)


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pth")


@pytest.fixture
def photos(tmp_path) -> Path:
    """A source folder with red, blue and grey images, one name repeated in two subfolders."""
    src = tmp_path / "Photos"
    make_image(src / "red.jpg", (220, 20, 20))
    make_image(src / "blue.png", (20, 20, 220))
    make_image(src / "grey.png", (120, 120, 120))
    make_image(src / "purple.png", (200, 10, 200))
    make_image(src / "a" / "same.jpg", (230, 10, 10))
    make_image(src / "b" / "same.jpg", (10, 10, 230))
    return src
