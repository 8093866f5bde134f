"""Scores to categories: thresholds, per-category overrides, the learned 'empty' class."""

from __future__ import annotations

import pytest

from sorter.core.model.decide import decide, is_exclusive, top_scores

CATS = ["chair", "stool", "table"]


def test_every_category_reaching_its_threshold_is_chosen_in_model_order() -> None:
    assert decide([0.9, 0.1, 0.5], CATS, 0.5) == ["chair", "table"]


def test_a_score_equal_to_the_threshold_passes() -> None:
    assert decide([0.5, 0.49, 0.0], CATS, 0.5) == ["chair"]


def test_nothing_passing_means_uncertain() -> None:
    assert decide([0.3, 0.2, 0.1], CATS, 0.5) == []


def test_per_category_threshold_overrides_the_default() -> None:
    scores = [0.3, 0.3, 0.3]
    assert decide(scores, CATS, 0.5, {"stool": 0.25}) == ["stool"]
    assert decide([0.6, 0.6, 0.6], CATS, 0.5, {"table": 0.7}) == ["chair", "stool"]


def test_empty_category_is_dropped_when_a_real_one_passes() -> None:
    cats = ["chair", "empty"]
    assert decide([0.8, 0.9], cats, 0.5, empty_category="empty") == ["chair"]
    assert decide([0.1, 0.9], cats, 0.5, empty_category="empty") == ["empty"]


def test_exclusive_takes_only_the_best_category_when_it_passes() -> None:
    assert decide([0.6, 0.7, 0.1], CATS, 0.5, exclusive=True) == ["stool"]
    assert decide([0.6, 0.7, 0.1], CATS, 0.5) == ["chair", "stool"]  # multi-label: both
    assert decide([0.4, 0.3, 0.3], CATS, 0.5, exclusive=True) == []


def test_exclusive_never_falls_back_to_a_lower_category_that_passes() -> None:
    # the best category misses its own threshold: uncertain, even though stool passes its own
    scores, own = [0.5, 0.45, 0.05], {"chair": 0.6, "stool": 0.4}
    assert decide(scores, CATS, 0.5, own, exclusive=True) == []
    assert decide(scores, CATS, 0.5, own) == ["stool"]


def test_exclusive_tie_goes_to_the_first_in_model_order() -> None:
    assert decide([0.3, 0.35, 0.35], CATS, 0.2, exclusive=True) == ["stool"]


def test_exclusive_can_choose_the_empty_category() -> None:
    cats = ["chair", "empty"]
    assert decide([0.2, 0.8], cats, 0.5, empty_category="empty", exclusive=True) == ["empty"]


def test_max_labels_keeps_the_highest_passing_scores_in_model_order() -> None:
    scores = [0.6, 0.9, 0.7]
    assert decide(scores, CATS, 0.5) == ["chair", "stool", "table"]
    assert decide(scores, CATS, 0.5, max_labels=2) == ["stool", "table"]
    assert decide(scores, CATS, 0.5, max_labels=1) == ["stool"]
    assert decide([0.6, 0.6, 0.6], CATS, 0.5, max_labels=2) == ["chair", "stool"]  # ties: first
    assert decide([0.6, 0.1, 0.1], CATS, 0.5, max_labels=2) == ["chair"]  # only what passes
    assert decide([0.1, 0.1, 0.1], CATS, 0.5, max_labels=2) == []  # still uncertain


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="2 scores for 3 categories"):
        decide([0.1, 0.2], CATS, 0.5)
    with pytest.raises(ValueError, match="2 scores for 3 categories"):
        decide([0.1, 0.2], CATS, 0.5, exclusive=True)


def test_top_scores_are_sorted_best_first() -> None:
    assert top_scores([0.2, 0.7, 0.1], CATS, k=2) == [("stool", 0.7), ("chair", 0.2)]


def test_a_model_without_a_kind_decides_multi_label() -> None:
    assert not is_exclusive(object()) and is_exclusive(type("M", (), {"exclusive": True})())
