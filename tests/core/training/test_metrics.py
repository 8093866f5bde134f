"""Validation metrics, per-category thresholds and the written report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from sorter.core.training import metrics as th
from sorter.core.training.report import evaluate, report_paths, write_report

CATS = ["cat", "dog"]


def test_accuracy_multi_counts_every_decision():
    scores = np.array([[0.9, 0.2], [0.4, 0.7]])
    targets = np.array([[1.0, 0.0], [1.0, 1.0]])
    assert th.accuracy_multi(scores, targets, 0.5) == 0.75
    assert th.accuracy_multi(scores, targets, 0.3) == 1.0
    curve = th.accuracy_curve(scores, targets)
    assert [t for t, _ in curve][:2] == [0.05, 0.1] and curve[-1][0] == 0.95
    assert len(curve) == 19


def test_accuracy_multi_takes_one_threshold_per_category():
    scores = np.array([[0.9, 0.2], [0.4, 0.7]])
    targets = np.array([[1.0, 0.0], [1.0, 1.0]])
    assert th.accuracy_multi(scores, targets, np.array([0.3, 0.5])) == 1.0
    assert th.accuracy_multi(scores, targets, np.array([0.5, 0.8])) == 0.5


def test_best_f1_threshold_separates_and_takes_the_middle_of_a_tie():
    scores = np.array([0.1, 0.2, 0.6, 0.7])
    truth = np.array([0, 0, 1, 1])
    chosen = th.best_f1_threshold(scores, truth)
    assert 0.2 < chosen <= 0.6
    assert abs(chosen - 0.4) < 0.06  # plateau 0.25..0.6: its middle


def test_choose_thresholds_falls_back_to_the_default_without_evidence():
    scores = np.array([[0.3, 0.9], [0.35, 0.1], [0.1, 0.2]])
    targets = np.array([[1, 1], [1, 0], [0, 0]], dtype=float)
    chosen = th.choose_thresholds(scores, targets, CATS, default=0.5, min_positives=2)
    assert chosen["dog"] == 0.5  # one positive only
    assert 0.1 < chosen["cat"] <= 0.3  # both cat positives pass, the negative does not


def test_metrics_uncertain_and_top_losses(tmp_path):
    scores = np.array([[0.9, 0.1], [0.2, 0.3], [0.8, 0.9], [0.1, 0.95]])
    targets = np.array([[1, 0], [1, 0], [1, 1], [1, 0]], dtype=float)
    thresholds = {"cat": 0.5, "dog": 0.5}
    metrics = th.category_metrics(scores, targets, CATS, thresholds)
    assert metrics["cat"]["recall"] == 0.5 and metrics["cat"]["precision"] == 1.0
    assert metrics["dog"]["precision"] == 0.5 and metrics["dog"]["support"] == 1
    exact, uncertain = th.decided_accuracy(scores, targets, CATS, thresholds)
    assert (exact, uncertain) == (0.5, 1)
    paths = [tmp_path / f"{i}.jpg" for i in range(4)]
    worst = th.top_losses(scores, targets, paths, CATS, thresholds, k=2)
    assert worst[0]["path"] == str(paths[3])
    assert worst[0]["labels"] == ["cat"] and worst[0]["predicted"] == ["dog"]


def test_evaluate_and_write_report_json_and_png(tmp_path):
    rng = np.random.default_rng(0)
    targets = np.eye(2)[rng.integers(0, 2, 20)]
    scores = np.clip(targets * 0.7 + rng.random((20, 2)) * 0.3, 0, 1)
    paths = [tmp_path / f"{i}.jpg" for i in range(20)]
    evaluation = evaluate(scores, targets, paths, CATS)
    assert evaluation["metrics"]["top1_accuracy"] == 1.0
    model = tmp_path / "my.model.pth"
    json_path, png_path = write_report(model, {"evaluation": evaluation, "x": float("nan")})
    assert (json_path, png_path) == report_paths(model)
    assert json_path.name == "my.model.report.json"
    saved = json.loads(json_path.read_text())
    assert saved["x"] is None and saved["evaluation"]["valid_images"] == 20
    with Image.open(png_path) as img:
        assert img.size[0] > 500


def test_no_validation_images_keeps_default_thresholds_and_draws_nothing(tmp_path):
    evaluation = evaluate(np.zeros((0, 2)), np.zeros((0, 2)), [], CATS, 0.4)
    assert evaluation["thresholds"] == {"cat": 0.4, "dog": 0.4}
    json_path, png_path = write_report(tmp_path / "m.pth", {"evaluation": evaluation})
    assert json_path.exists() and png_path is None


# --- single-label (exclusive) models -------------------------------------------------------------
def _best_is_cat(tops: list[float]) -> np.ndarray:
    # three categories; "cat" (the first) is every image's best, with probability `top`
    return np.array([[t, (1 - t) / 2, (1 - t) / 2] for t in tops])


def _labelled(right: list[bool]) -> np.ndarray:
    return np.array([[1, 0, 0] if r else [0, 1, 0] for r in right], dtype=float)


def test_exclusive_threshold_is_the_lowest_that_places_clearly_safer_than_the_best_guess():
    surest = [0.95, 0.9, 0.88, 0.86, 0.84, 0.82, 0.8, 0.78, 0.76, 0.74]  # all right
    scores = _best_is_cat([*surest, 0.7, 0.65, 0.6, 0.55, 0.5])
    targets = _labelled([True] * 10 + [False] * 4 + [True])
    names = ["cat", "dog", "owl"]
    # right for 11 of 15 (0.733): the goal is 0.733 + 0.05; placing from 0.5 up: 11/15 right,
    # from 0.51: 10/14, from 0.56: 10/13, from 0.61: 10/12 = 0.833, the first to reach it
    assert th.precision_goal(11 / 15) == pytest.approx(11 / 15 + 0.05)
    bare = th.exclusive_thresholds(scores, targets, names, default=0.5, z=0)
    assert bare == {"cat": 0.61, "dog": 0.61, "owl": 0.61}
    # With half a standard error to spare: 10/12 less 0.5 * sqrt(0.833 * 0.167 / 12) = 0.779
    # is short of 0.783; from 0.66 10/11 = 0.909 less 0.043 clears it (and still places 10 of
    # the 11 right images, over the 90% kept).
    chosen = th.exclusive_thresholds(scores, targets, names, default=0.5)
    assert th.PRECISION_Z == 0.5 and chosen == {"cat": 0.66, "dog": 0.66, "owl": 0.66}
    placed = th.placement(scores, targets, names, chosen, exclusive=True)
    assert placed["placed_precision"] == pytest.approx(10 / 11) and placed["coverage"] == 11 / 15


def test_exclusive_threshold_never_leaves_out_a_tenth_of_the_right_answers():
    scores = _best_is_cat([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    targets = _labelled([True, True, False, False, False, True])
    # placed-precision reaches the goal (0.55) from 0.61 (2 of 3), but that would leave one of
    # the three right images out: the threshold stays at 0.4, which places all three
    chosen = th.exclusive_thresholds(scores, targets, ["cat", "dog", "owl"])
    assert chosen["cat"] == 0.4


def test_an_accurate_model_aims_at_a_fifth_fewer_mistakes():
    assert th.precision_goal(0.9) == pytest.approx(0.92)  # 10% wrong -> 8%, not 5%
    assert th.precision_goal(0.6) == pytest.approx(0.65)


def test_when_no_threshold_is_safer_the_right_placements_are_kept():
    # the surest images are the wrong ones: no threshold raises placed-precision to 0.55
    scores = _best_is_cat([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    targets = _labelled([False, False, True, True, False, True])
    chosen = th.exclusive_thresholds(scores, targets, ["cat", "dog", "owl"])
    assert chosen["cat"] == 0.4  # the highest that still places all 3 right ones (90% of 3)


def test_exclusive_threshold_places_everything_that_is_mostly_right_and_needs_evidence():
    names = ["cat", "dog", "owl"]
    scores = _best_is_cat([0.9, 0.8, 0.7, 0.6, 0.5])
    all_right = np.array([[1, 0, 0]] * 5, dtype=float)
    assert th.exclusive_thresholds(scores, all_right, names)["cat"] == 0.05  # nothing to leave
    few = th.exclusive_thresholds(scores[:4], all_right[:4], names, default=0.4)
    assert few == {"cat": 0.4, "dog": 0.4, "owl": 0.4}  # 4 scored images: too few, the default


def test_placement_counts_folders_as_a_user_sees_them():
    scores = np.array([[0.6, 0.7], [0.9, 0.1], [0.45, 0.4], [0.2, 0.8]])
    targets = np.array([[0, 1], [1, 0], [1, 0], [1, 0]], dtype=float)
    limits = {"cat": 0.5, "dog": 0.5}
    multi = th.placement(scores, targets, CATS, limits)
    assert multi["multi_folder_share"] == 0.25 and multi["coverage"] == 0.75
    assert multi["exact_folder"] == 0.25 and multi["placed_precision"] == 0.5
    single = th.placement(scores, targets, CATS, limits, exclusive=True)
    assert single["multi_folder_share"] == 0.0 and single["coverage"] == 0.75
    assert single["exact_folder"] == 0.5 and single["placed_precision"] == 2 / 3
    assert single["top1"] == multi["top1"] == 0.75  # the uncertain one was right at top-1
    chosen = th.decisions(scores, CATS, limits, exclusive=True)
    assert chosen.tolist() == [[False, True], [True, False], [False, False], [False, True]]


def test_cross_entropy_losses_spread_several_labels_and_none():
    scores = np.array([[0.9, 0.1], [0.5, 0.5], [0.5, 0.5]])
    targets = np.array([[1, 0], [1, 1], [0, 0]], dtype=float)
    got = th.cross_entropy_losses(scores, targets)
    assert got == pytest.approx([-np.log(0.9), -np.log(0.5), -np.log(0.5)])


def test_evaluate_a_single_label_model(tmp_path):
    rng = np.random.default_rng(1)
    targets = np.eye(2)[rng.integers(0, 2, 20)]
    raw = targets * 0.6 + rng.random((20, 2)) * 0.4
    scores = raw / raw.sum(axis=1, keepdims=True)  # a softmax: rows sum to 1
    paths = [tmp_path / f"{i}.jpg" for i in range(20)]
    evaluation = evaluate(scores, targets, paths, CATS, exclusive=True)
    metrics = evaluation["metrics"]
    assert evaluation["labels"] == metrics["labels"] == "single"
    assert metrics["multi_folder_share"] == 0.0 and metrics["top1_accuracy"] == 1.0
    assert set(metrics) >= {"placed_precision", "coverage", "exact_match", "valid_loss"}
    assert evaluation["curve"] == "exact folder" and len(evaluation["accuracy_curve"]) == 19
    assert all(len(row["predicted"]) <= 1 for row in evaluation["top_losses"])
    multi = evaluate(scores, targets, paths, CATS)
    assert multi["labels"] == "multi" and multi["curve"] == "accuracy_multi"


def test_estimate_lines_give_each_cross_validated_figure_with_its_spread():
    from sorter.core.training.report import estimate_lines

    training = {
        "images": 60,
        "cross_validation": {
            "folds": 5,
            "spread": {"exact_folder": {"mean": 0.664, "sd": 0.081, "folds": 5},
                       "coverage": {"mean": 0.885, "sd": 0.04, "folds": 5}},
        },
    }  # fmt: skip
    lines = estimate_lines(training)
    assert lines[0].startswith("Expected on new photos (5-fold cross-validation on the 60")
    assert lines[1:] == ["  66% ± 8%  images in exactly their own folder",
                         "  88% ± 4%  images placed at all (the rest go to uncertain)"]  # fmt: skip
    assert estimate_lines({"valid_images": 12, "metrics": {}}) == []  # a hold-out: none


def test_multi_label_thresholds_aim_at_exactly_the_right_folders():
    # columns: cat, owl. The owl column has no positive: it keeps the default 0.5, so the last
    # three images land in owl wrongly whatever cat's threshold is.
    scores = np.array([[0.9, 0.0], [0.4, 0.0], [0.1, 0.0], [0.45, 0.9], [0.43, 0.9], [0.42, 0.9]])
    targets = np.array([[1, 0], [1, 0], [0, 0], [0, 0], [0, 0], [0, 0]], dtype=float)
    names = ["cat", "owl"]
    f1 = th.choose_thresholds(scores, targets, names)
    assert f1["cat"] == 0.7  # best F1 (0.667 from 0.45 to 0.9): the middle of the plateau

    def exact(thresholds):
        return th.placement(scores, targets, names, thresholds)["exact_folder"]

    chosen = th.exact_set_thresholds(scores, targets, names)
    # from 0.15 to 0.4 the second cat is placed and nothing else changes: 3 of 6 exactly right
    assert chosen == {"cat": 0.15, "owl": 0.5}
    assert exact(chosen) == 0.5 and exact(f1) == pytest.approx(2 / 6)


def test_capped_decisions_match_decide_image_by_image():
    from sorter.core.model.decide import decide

    rng = np.random.default_rng(3)
    cats = ["a", "b", "c", "d", "e"]
    scores = rng.random((200, 5)).round(1)  # rounding makes ties
    thresholds = dict(zip(cats, [0.3, 0.5, 0.2, 0.6, 0.4], strict=True))
    for cap in (1, 2, 3, None):
        table = th.decisions(scores, cats, thresholds, max_labels=cap)
        passing = scores >= np.array(list(thresholds.values()))
        assert (th.capped(scores, passing, cap) == table).all()
        for row, chosen in zip(scores, table, strict=True):
            names = decide(row.tolist(), cats, 0.5, thresholds, max_labels=cap)
            assert [cats[i] for i in np.flatnonzero(chosen)] == names


def test_two_label_thresholds_with_the_cap_place_more_images_exactly():
    """Every image has two labels; a third category often scores high too. With the cap the
    optimiser may lower thresholds that a third label would otherwise spoil."""
    rng = np.random.default_rng(0)
    cats = ["a", "b", "c", "d"]
    targets = np.zeros((120, 4))
    for row in targets:
        row[rng.choice(4, 2, replace=False)] = 1
    scores = np.clip(0.55 * targets + rng.random((120, 4)) * 0.6, 0, 1)
    free = th.exact_set_thresholds(scores, targets, cats)
    capped = th.exact_set_thresholds(scores, targets, cats, max_labels=2)
    exact_free, _ = th.decided_accuracy(scores, targets, cats, free)
    exact_capped, _ = th.decided_accuracy(scores, targets, cats, capped, max_labels=2)
    assert exact_capped > exact_free


def test_the_window_says_how_many_folders_a_capped_model_uses_at_most():
    from fakes import tiny_meta

    from sorter.core.training.report import about_lines

    assert "At most 2 folders per photo" in about_lines(tiny_meta(max_labels=2))[0]
    assert "At most" not in about_lines(tiny_meta())[0]
