"""Every fake and builder the tests share: a fake model and scorer, tiny real images and models."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from sorter.core.jobs import CancelToken
from sorter.core.model.predict import ScoredImage

# --- images ------------------------------------------------------------------------------------
RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 30)
YELLOW = (230, 220, 40)  # far from red and blue even at 32 px, unlike green
COLOURS = [(220, 20, 20), (20, 20, 220), (120, 120, 120), (200, 10, 200), (20, 200, 20)]


def make_image(path: Path, color: tuple[int, int, int] = (200, 30, 30), size=(24, 16), fmt=None):
    """Write a small real image (format from the extension unless given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format=fmt)
    return path


def make_photos(folder: Path, count: int) -> Path:
    """`count` small real images of varied colours and patterns (so scores differ)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img = Image.new("RGB", (40, 30), COLOURS[i % len(COLOURS)])
        img.paste((i * 37 % 256, i * 91 % 256, i * 53 % 256), (0, 0, 10 + i % 25, 15))
        img.save(folder / f"photo_{i:03d}.{'jpg' if i % 2 else 'png'}")
    return folder


def noisy_image(path: Path, rgb: tuple[int, int, int], seed: int) -> Path:
    """A small real photo-like image: one colour plus noise (so no two are identical)."""
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(rgb)[None, None, :] + rng.normal(0, 25, (40, 40, 3)), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def make_training_folder(root: Path) -> Path:
    """12 red and 12 blue photos in one folder per category."""
    for i in range(12):
        noisy_image(root / "red" / f"r{i}.png", RED, i)
        noisy_image(root / "blue" / f"b{i}.png", BLUE, 100 + i)
    return root


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


# --- real models -------------------------------------------------------------------------------
def tiny_meta(categories=("cats", "dogs", "cars"), arch="resnet18", **overrides):
    """Model metadata (a ModelMeta) for tests: fastai layout, sigmoid, threshold 0.5, 32 px
    squish, no normalisation; `overrides` replace or add keys of the stored dict."""
    from sorter.core.model.meta import ModelMeta

    meta = {
        "arch": arch,
        "builder": "fastai",
        "categories": list(categories),
        "activation": "sigmoid",
        "n_outputs": len(categories),
        "default_threshold": 0.5,
        "thresholds": {},
        "input_size": 32,
        "resize_method": "squish",
        "normalize": None,
    }
    meta.update(overrides)
    return ModelMeta.from_dict(meta)


def version_meta(categories=("cats", "dogs"), acc=0.8):
    """Metadata of a stored version for the versions tests: tiny_meta with a training date and
    an accuracy figure."""
    training = {"date": "2026-11-23", "metrics": {"accuracy_multi": acc}}
    return tiny_meta(categories, input_size=64, training=training)


def version_weights(value: float = 1.0) -> dict:
    """A one-tensor state_dict: the versions tests store and read it, never run it."""
    import torch

    return {"head.weight": torch.full((2, 3), value)}


def quick_state(n_out: int) -> dict:
    """A state_dict of the default network shaped as quick mode leaves it: the shipped body
    (backbone.shared_body) and a random head whose first Linear uses 2 * n_out of its 512 rows."""
    import torch

    from sorter.core.model.arch_names import PAIR
    from sorter.core.model.networks import fastai_network
    from sorter.core.training.backbone import shared_body

    body = shared_body(PAIR)
    assert body is not None  # the shipped weights are in assets/weights
    torch.manual_seed(0)
    state = fastai_network(PAIR, n_out).state_dict()
    state.update(body.state)
    state["1.4.weight"][2 * n_out :] = 0
    return state


def make_tiny_model(path: Path, categories=("cats", "dogs", "cars"), arch="resnet18") -> Path:
    """A real Sorter model file (fastai layout, random weights, 32 px input): scores in ms."""
    import torch

    from sorter.core.model.modelfile import save_model
    from sorter.core.model.networks import build_network

    torch.manual_seed(0)
    meta = tiny_meta(categories, arch, training={"note": "random weights for tests"})
    save_model(path, meta, build_network(meta).state_dict())
    return path


def network_meta(arch: str = "resnet18", builder: str = "fastai", n_outputs: int = 2):
    """The smallest ModelMeta that build_network takes for (arch, builder, n_outputs): one
    category that sums every output's softmax, so any number of outputs is consistent."""
    from sorter.core.model.meta import ModelMeta, Preprocessing

    everything = {"all": list(range(n_outputs))}
    return ModelMeta(arch, builder, ["all"], "softmax-groups", n_outputs, Preprocessing(32),
                     groups=everything)  # fmt: skip


def train_tiny(data: Path, out: Path, labels: str | None = None) -> Path:
    """A real quick-trained model (the training module's API) at 32 px: seconds on a CPU.

    `labels` ("single", "multi") overrides the kind the data gives (TrainOptions.labels).
    """
    from sorter.core.training.data import load_training_data
    from sorter.core.training.train import TrainOptions, train

    options = TrainOptions(input_size=32, epochs=15, labels=labels)
    train(load_training_data(data), out, options)
    return out


# --- a fake model and its scorer ---------------------------------------------------------------
@dataclass
class FakeModel:
    """Stands in for LoadedModel. Scores come from `scores_by_name` (file name -> scores) when
    given, else from the mean colour: red images are 'cats', blue ones 'dogs', grey neither.

    Without a `path`, cached scores are keyed on the object, so two fakes never share them.
    """

    path: Path | None = None
    categories: list[str] = field(default_factory=lambda: ["cats", "dogs"])
    default_threshold: float = 0.5
    thresholds: Mapping[str, float] = field(default_factory=dict)
    empty_category: str | None = None
    exclusive: bool = False  # a single-label model: at most one folder per image
    device: str = "cpu"
    scores_by_name: Mapping[str, list[float]] | None = None


def fake_score(model, paths, *, batch_size=32, progress=None, cancel: CancelToken | None = None):
    """The scorer sorting takes (`score=`), for a FakeModel; unreadable files give an error.

    Every call's paths are kept in `fake_score.calls`, so tests see what was scored again.
    """
    fake_score.calls.append([Path(p) for p in paths])  # type: ignore[attr-defined]
    return _fake_iter(model, list(paths), cancel)


fake_score.calls = []  # type: ignore[attr-defined]


def _fake_iter(model: FakeModel, paths: list, cancel: CancelToken | None) -> Iterator[ScoredImage]:
    for p in paths:
        if cancel is not None:
            cancel.raise_if_cancelled()
        if model.scores_by_name is not None:
            yield ScoredImage(Path(p), list(model.scores_by_name[Path(p).name]))
            continue
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


# The default model's 15 categories: more than the nine digit keys.
MANY_CATEGORIES = [
    "animals", "birds", "fish & sea life", "plants & flowers", "food & drink", "landscape",
    "buildings", "vehicles", "furniture", "kitchen & household", "clothing", "electronics",
    "tools", "musical instruments", "sports",
]  # fmt: skip


def make_review_set(folder: Path, count: int = 12, categories=MANY_CATEGORIES):
    """A ReviewSet of `count` real photos, every one in uncertain, with varied low scores."""
    from sorter.core.sorting.review_items import ReviewItem, ReviewSet

    photos = sorted(make_photos(folder, count).iterdir())
    n = len(categories)
    items = [
        ReviewItem(p, [((i * 7 + c * 3) % 50) / 100 for c in range(n)], ["uncertain"])
        for i, p in enumerate(photos)
    ]
    return ReviewSet(list(categories), items)


# --- retraining --------------------------------------------------------------------------------
def refused_retrain(model: Path, used_ids: list[int], reason: str):
    """A RetrainResult whose candidate (the tiny model's own weights, so promote() can store
    it) was not chosen, with a before/after comparison on 4 held-out corrections."""
    from sorter.core.learning import evaluate as ev
    from sorter.core.learning.retrain import Candidate, RetrainResult
    from sorter.core.learning.versions import read_model

    meta, state_dict = read_model(model)
    old = ev.SideMetrics(0.75, 0.5, 1, {"cats": 0.5})
    new = ev.SideMetrics(0.5, 0.25, 0, {"cats": 0.4})
    comparison = ev.Comparison("held-out corrections", 4, old, new, "cross-validated")
    candidate = Candidate(
        meta, state_dict, model, model.name, [comparison], False, reason, used_ids, []
    )
    message = f"Kept the current model ({model.name}): {reason}."
    return RetrainResult(candidate, False, None, model, message)
