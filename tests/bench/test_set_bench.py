"""The training bench's counting rules: exact folder, uncertain, copies, collages, targets."""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from set_bench import figures_of, hindsight_exact, sort_counts  # noqa: E402
from stamp_sets import balanced_pairs  # noqa: E402
from targets import by_draw, target_lines  # noqa: E402


def _outcome(path: Path, categories: list[str], top: str | None) -> SimpleNamespace:
    scores = [(top, 0.9)] if top else []
    return SimpleNamespace(source=path, categories=categories, top_scores=scores)


def test_single_label_counts(tmp_path):
    a, b, c, d = (tmp_path / f"{n}.jpg" for n in "abcd")
    truth = {p.resolve(): frozenset([cat]) for p, cat in zip((a, b, c, d), "xxyy", strict=True)}
    outcomes = [
        _outcome(a, ["x"], "x"),  # exactly its folder
        _outcome(b, ["x", "y"], "x"),  # right, but in two folders: not exact
        _outcome(c, ["uncertain"], "y"),  # top-1 right, placed nowhere: not exact
        _outcome(d, [], None),  # unreadable: not counted at all
    ]
    figures = figures_of(sort_counts(outcomes, truth), multi=False)
    assert figures == {
        "top1": 1.0,
        "exact_folder": 1 / 3,
        "placed_precision": 2 / 3,  # 2 right copies of 3
        "coverage": 2 / 3,
        "multi_folder_share": 1 / 3,
    }


def test_collage_counts_both_labels_only_when_exactly_its_two_folders(tmp_path):
    paths = [tmp_path / f"{n}.jpg" for n in range(3)]
    truth = {p.resolve(): frozenset(["x", "y"]) for p in paths}
    outcomes = [
        _outcome(paths[0], ["x", "y"], "y"),
        _outcome(paths[1], ["x", "y", "z"], "z"),  # both found, one folder too many
        _outcome(paths[2], ["x"], "x"),
    ]
    figures = figures_of(sort_counts(outcomes, truth), multi=True)
    assert figures["exact_folder"] == 1 / 3
    assert figures["all_labels_found"] == 2 / 3
    assert figures["at_least_one_right"] == 1.0
    assert figures["top1"] == 2 / 3
    assert figures["placed_precision"] == 5 / 6


@pytest.mark.parametrize("per_category", [10, 40])
def test_balanced_pairs_use_each_category_equally_and_never_twice_in_a_pair(per_category):
    pairs = balanced_pairs(("a", "b", "c", "d", "e", "f"), per_category, random.Random(3))
    assert len(pairs) == 3 * per_category
    assert all(left != right for left, right in pairs)
    assert Counter(c for pair in pairs for c in pair) == dict.fromkeys("abcdef", per_category)
    assert len(set(pairs)) > 10  # not the same few pairs over and over


def test_targets_say_met_and_not_met():
    figures = {"top1": 0.70, "exact_folder": 0.66, "placed_precision": 0.80,
               "coverage": 0.8, "multi_folder_share": 0.05}  # fmt: skip
    lines = target_lines({"s@10": {"figures": figures, "baseline": {"top1": 0.70}}}, {500: 61.0})
    assert [line.rsplit(": ", 1)[1] for line in lines] == [
        "met",  # 0.66 >= 0.70 - 0.05
        "NOT MET",  # 5% in 2+ folders
        "met",  # 0.80 >= 0.75
        "NOT MET",  # stretch: 0.70 < 0.73
        "NOT MET",  # 61 s
    ]
    assert "seconds: 61.0 <= 60.0" in lines[-1]  # seconds in tenths, not thousandths


def test_targets_are_checked_against_both_baselines_when_there_are_two():
    figures = {"top1": 0.70, "exact_folder": 0.66, "placed_precision": 0.80,
               "coverage": 0.8, "multi_folder_share": 0.0}  # fmt: skip
    base = {"top1": 0.65, "same_top1": 0.72}
    lines = target_lines({"s@10": {"figures": figures, "baseline": base}}, {})
    assert [line.rsplit(": ", 1)[1] for line in lines] == [
        "met",  # 0.66 >= 0.65 - 0.05 (LR on MobileNetV2's features)
        "NOT MET",  # 0.66 < 0.72 - 0.05 (LR on the model's own features)
        "met",
        "met",
        "met",  # stretch: 0.70 >= 0.68
        "NOT MET",  # stretch: 0.70 < 0.75
    ]
    assert "LR same top-1" in lines[1] and "LR same top-1" in lines[5]


def test_by_draw_gives_the_mean_margin_its_standard_error_and_the_draws_met():
    # margins +2, -1, -4 points: mean -1, sd 3, standard error 3 / sqrt(3) = 1.73
    assert by_draw([0.02, -0.01, -0.04]) == " (by draw: -1.0 ± 1.7 points, met in 1 of 3)"
    assert by_draw([0.05]) == ""  # one draw has no spread


def test_targets_say_how_they_hold_draw_by_draw():
    def run(top1: float, exact: float, precision: float, lr: float) -> dict:
        figures = {"top1": top1, "exact_folder": exact, "placed_precision": precision,
                   "coverage": 0.9, "multi_folder_share": 0.0}  # fmt: skip
        return {"figures": figures, "baseline": {"top1": lr}, "multi_label_data": False}

    runs = [run(0.70, 0.66, 0.78, 0.70), run(0.60, 0.50, 0.62, 0.58)]
    pooled = {"top1": 0.65, "exact_folder": 0.58, "placed_precision": 0.69,
              "coverage": 0.9, "multi_folder_share": 0.0}  # fmt: skip
    entry = {"figures": pooled, "baseline": {"top1": 0.64}, "runs": runs}
    exact, _, precision, stretch = target_lines({"s@10": entry}, {})
    # exact - (LR - 0.05): +1 and -3 points
    assert "(by draw: -1.0 ± 2.0 points, met in 1 of 2): NOT MET" in exact
    # precision - (top-1 + 0.05): +3 and -3 points
    assert "(by draw: +0.0 ± 3.0 points, met in 1 of 2): NOT MET" in precision
    # top-1 - (LR + 0.03): -3 and -1 points
    assert "(by draw: -2.0 ± 1.0 points, met in 0 of 2): NOT MET" in stretch


def test_hindsight_ceiling_is_the_best_exact_share_at_the_precision_goal():
    # top-1 is 4/6; the goal is 4/6 + 0.05 = 0.717.
    ranked = [(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.5, True), (0.4, False)]
    # Placing the best 2: precision 1.0, exact 2/6. The best 5: 4/5 = 0.8 >= 0.717, exact 4/6.
    # All 6: precision 4/6 < goal. So 4/6.
    assert hindsight_exact(ranked) == pytest.approx(4 / 6)
    # A tie at the cut can't be split by a threshold: both tied images are placed or neither.
    tied = [(0.9, True), (0.5, True), (0.5, False), (0.5, False)]
    assert hindsight_exact(tied) == pytest.approx(1 / 4)
    assert hindsight_exact([(0.9, False), (0.8, False)]) == 0.0
    assert hindsight_exact([]) == 0.0


def test_targets_say_whether_any_threshold_could_meet_precision_and_exact_together():
    figures = {"top1": 0.70, "exact_folder": 0.66, "placed_precision": 0.80,
               "coverage": 0.8, "multi_folder_share": 0.0}  # fmt: skip
    base = {"top1": 0.65, "same_top1": 0.72}
    entry = {"figures": figures, "baseline": base, "hindsight_exact": 0.64}
    joint = [line for line in target_lines({"s@10": entry}, {}) if "hindsight" in line]
    assert joint == [
        "  s@10 hindsight ceiling 0.640 vs exact-folder goal 0.600 (LR): "
        "one threshold could meet both",
        "  s@10 hindsight ceiling 0.640 vs exact-folder goal 0.670 (LR same): "
        "no threshold meets both",
    ]


def test_saved_runs_of_one_set_in_two_files_are_pooled_seed_by_seed(tmp_path, capsys):
    from targets import print_saved

    def run(seed: int, exact: int) -> dict:
        counts = {"images": 10, "top1": 8, "exact": exact, "copies": 9, "right": 8,
                  "placed": 9, "multi": 0, "all_found": 0, "any_right": 0}  # fmt: skip
        return {"seed": seed, "multi_label_data": False, "kind": "single", "train_images": 60,
                "train_seconds": 1.0, "counts": counts, "hindsight_exact": 0.7,
                "baseline": {"top1": 0.8}}  # fmt: skip

    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({"sets": {"s@10": {"runs": [run(0, 7), run(1, 7)]}}}))
    # seed 1 again (the later file's copy wins) and a new seed 2
    second.write_text(json.dumps({"sets": {"s@10": {"runs": [run(1, 5), run(2, 6)]}}}))
    assert print_saved([first, second]) == 0
    out = capsys.readouterr().out
    assert "s@10: 3 draws, 30 test images" in out
    assert "exact folder 0.600 [0.50-0.70]" in out  # (7 + 5 + 6) / 30
