"""bench/rule_frontier.py's measures and aims, on small hand-made score matrices."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from rule_frontier import (  # noqa: E402
    AIMS,
    aimed_threshold,
    analyse,
    confidence,
    load_npz,
    placed_counts,
    save_npz,
)

from sorter.core.training import metrics as th  # noqa: E402


def test_confidence_measures():
    scores = np.array([[0.7, 0.2, 0.1], [1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]])
    assert confidence(scores, "best score") == pytest.approx([0.7, 1 / 3, 1.0])
    assert confidence(scores, "margin") == pytest.approx([0.5, 0.0, 1.0])
    surety = confidence(scores, "1 - entropy")
    assert surety[1] == pytest.approx(0.0, abs=1e-6)  # even scores: no idea
    assert surety[2] == pytest.approx(1.0, abs=1e-6)  # all on one category
    assert 0.0 < surety[0] < 1.0
    with pytest.raises(ValueError):
        confidence(scores, "luck")


def _oof(seed: int = 0, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Two categories; the surer the best score, the likelier it is right (from never at 0.5
    to always at 1)."""
    rng = np.random.default_rng(seed)
    best = rng.uniform(0.5, 1.0, n)
    truth_is_best = rng.uniform(0, 1, n) < (best - 0.5) * 2
    scores = np.stack([best, 1 - best], axis=1)
    targets = np.zeros_like(scores)
    targets[np.arange(n), np.where(truth_is_best, 0, 1)] = 1
    return scores.astype(np.float32), targets


def test_the_shipped_aim_is_sorters_rule_and_larger_allowances_never_place_more():
    scores, targets = _oof()
    names = ["a", "b"]
    shipped = aimed_threshold(scores, targets, names, "shipped")
    assert shipped == th.exclusive_thresholds(scores, targets, names)["a"]
    assert shipped == aimed_threshold(scores, targets, names, f"z {th.PRECISION_Z}")
    chosen = [aimed_threshold(scores, targets, names, f"z {z}") for z in (0, 0.25, 0.5, 1, 2)]
    assert chosen == sorted(chosen)
    assert chosen[-1] > chosen[0]  # here the precision climbs with the score: it moves
    with pytest.raises(ValueError):
        aimed_threshold(scores, targets, names, "whatever")


def test_placed_counts_apply_the_single_label_decision():
    test = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.55, 0.45]])
    truth = np.array([0, 1, 1, 0])
    assert placed_counts(test, truth, 0.6) == (2, 3, 4)  # rows 0, 1, 2 placed; 1 is wrong
    assert placed_counts(test, truth, 0.95) == (0, 0, 4)


def test_analyse_and_saved_scores_round_trip(tmp_path):
    draws = []
    for seed in (3, 4):
        oof, targets = _oof(seed, 60)
        test, test_targets = _oof(seed + 10, 40)
        draws.append({
            "seed": seed, "oof": oof, "targets": targets, "test": test,
            "truth": test_targets.argmax(axis=1),
        })  # fmt: skip
    rows = {"toy@10": draws}
    save_npz(tmp_path / "s.npz", rows)
    again = load_npz(tmp_path / "s.npz")
    assert [d["seed"] for d in again["toy@10"]] == [3, 4]
    assert np.array_equal(again["toy@10"][1]["test"], draws[1]["test"])
    figures = analyse(again["toy@10"])
    assert figures["draws"] == 2
    assert set(figures["aims"]) == set(AIMS)
    for found in figures["aims"].values():
        assert 0 <= found["exact_folder"] <= found["coverage"] <= 1
        assert len(found["precision_margins"]) == 2
    top1 = np.mean([np.mean(d["test"].argmax(1) == d["truth"]) for d in draws])
    assert figures["top1"] == pytest.approx(top1)
    # no threshold places more images exactly than are right at all
    assert 0 <= figures["ceilings"]["best score"] <= top1


def test_a_draw_that_places_nothing_gives_no_precision_margin():
    oof, targets = _oof(5, 60)
    placed_some = {
        "seed": 1,
        "oof": oof,
        "targets": targets,
        "test": oof,
        "truth": targets.argmax(1),
    }
    even = np.full((10, 2), 0.5, dtype=np.float32)  # below any threshold the rule picks here
    placed_none = {**placed_some, "seed": 2, "test": even, "truth": np.zeros(10, dtype=int)}
    assert aimed_threshold(oof, targets, ["a", "b"], "shipped") > 0.5
    figures = analyse([placed_some, placed_none])
    for found in figures["aims"].values():
        assert len(found["precision_margins"]) == 1  # the empty draw is left out, not "met"
