"""bench/retrain_loop.py's three-way split of a data set: first model, pool, untouched test set."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from retrain_loop import split3  # noqa: E402

DATASET = {
    cat: [Path(f"/stamps/{cat}/{i}.png") for i in range(n)]
    for cat, n in (("animals", 146), ("plants", 39), ("town", 79))
}


def _parts(*args, **kwargs):
    train, pool, test = split3(DATASET, *args, **kwargs)
    return [Counter(cat for _, cat in part) for part in (train, pool, test)], (train, pool, test)


def test_a_share_of_each_category_trains_the_first_model():
    (train, pool, test), _ = _parts(0.3, 0.6, seed=0)
    assert train == {"animals": 44, "plants": 12, "town": 24}
    assert pool == {"animals": 61, "plants": 16, "town": 33}  # 60% of the rest, rounded
    assert test == {"animals": 41, "plants": 11, "town": 22}


def test_k_images_per_category_train_the_first_model_and_nothing_is_shared():
    (train, pool, test), items = _parts(0.3, 0.6, 3, per_category=10)
    assert train == dict.fromkeys(DATASET, 10)
    assert pool == {"animals": 82, "plants": 17, "town": 41}
    assert test == {"animals": 54, "plants": 12, "town": 28}
    every = [path for part in items for path, _ in part]
    assert sorted(every) == sorted(p for paths in DATASET.values() for p in paths)
    assert len(set(every)) == len(every)  # each image in exactly one part


def test_the_split_follows_the_seed():
    _, first = _parts(0.3, 0.6, 1, per_category=10)
    _, again = _parts(0.3, 0.6, 1, per_category=10)
    _, other = _parts(0.3, 0.6, 2, per_category=10)
    assert first == again and first != other
