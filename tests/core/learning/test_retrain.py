"""Tests for retraining from the queue: evaluation, promotion rules, versions, warm start."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from fakes import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    make_training_folder,
    noisy_image,
    train_tiny,
)

from sorter.appdirs import asset_path
from sorter.core.jobs import Cancelled, CancelToken
from sorter.core.learning import evaluate as ev
from sorter.core.learning import verdict
from sorter.core.learning.data import folds, merged_categories, targets_for
from sorter.core.learning.full import holdout
from sorter.core.learning.queue import CorrectionQueue
from sorter.core.learning.retrain import RetrainError, prepare, promote, retrain
from sorter.core.learning.versions import list_versions, read_model
from sorter.core.model.decide import decide
from sorter.core.model.modelfile import default_model_path, load_model
from sorter.core.model.predict import score_images
from sorter.core.settings import load_settings
from sorter.core.sorting.sort import sort_folder


@pytest.fixture(scope="session")
def red_blue_model(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("redblue")
    return train_tiny(make_training_folder(root / "data"), root / "model.pth")


@pytest.fixture
def fast_heads(monkeypatch):
    """Fewer head epochs: the same code path, a quarter of the time."""
    monkeypatch.setattr("sorter.core.learning.quick.HEAD_EPOCHS", 15)
    monkeypatch.setattr("sorter.core.learning.quick.MIN_STEPS", 30)
    monkeypatch.setattr("sorter.core.learning.quick.WARM_EPOCHS", 10)


def top_category(model_path: Path, image: Path) -> str:
    model = load_model(model_path, device="cpu")
    (scored,) = list(score_images(model, [image]))
    return model.categories[int(np.argmax(scored.scores))]


def decided(model_path: Path, image: Path) -> list[str]:
    """The folders sorting would pick for the image with this model."""
    model = load_model(model_path, device="cpu")
    (scored,) = list(score_images(model, [image]))
    return decide(
        scored.scores, model.categories, model.default_threshold, model.thresholds,
        exclusive=model.exclusive,
    )  # fmt: skip


# ---- pure parts ---------------------------------------------------------------------------------


def _one_hot(labels: list[int], n_categories: int = 3) -> np.ndarray:
    return np.eye(n_categories, dtype=np.float32)[labels]


def test_folds_cover_every_correction_once() -> None:
    parts = folds(_one_hot([0, 1, 2, 0, 1, 2, 0]), 3, seed=1)
    assert len(parts) == 3
    assert sorted(i for part in parts for i in part) == list(range(7))
    assert folds(_one_hot([0]), 5, seed=1) == []
    assert len(folds(_one_hot([0, 1, 1]), 5, seed=1)) == 3  # leave-one-out when there are few


def test_folds_spread_each_category_over_the_folds() -> None:
    """Three corrections of each category in three folds: one of each in every fold, so no
    fold's model is judged on a category it never saw corrected."""
    labels = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    for seed in range(5):
        parts = folds(_one_hot(labels), 3, seed=seed)
        assert [sorted(labels[i] for i in part) for part in parts] == [[0, 1, 2]] * 3


def test_fold_scores_score_every_row_by_a_model_that_did_not_learn_it() -> None:
    """Each row is scored once, by a model fitted on the other folds' rows (and whatever the
    caller adds to every model), never by one that learned it."""
    import torch

    from sorter.core.learning.crossfit import fold_scores

    x = torch.arange(20, dtype=torch.float32).view(-1, 1)  # each row's feature is its own id
    y = _one_hot([0, 1] * 10, 2)
    learned_by = []

    def fit(xs, ys, seed):
        learned_by.append({int(v) for v in xs.flatten()} | {99})  # 99: always added
        return learned_by[-1]

    def score(learned, rows):  # column 0: the model learned this row; column 1: it did not
        seen = np.array([float(int(v) in learned) for v in rows.flatten()], dtype=np.float32)
        return np.stack([seen, 1 - seen], axis=1)

    held = folds(y, 5, seed=3)
    scores = fold_scores(fit, score, x, y, held, seed=3)
    assert len(learned_by) == 5 and all(len(m) == 17 for m in learned_by)  # 16 rows + 99
    assert not scores[:, 0].any() and scores[:, 1].all()  # every row scored, none by its model


def test_holdout_only_when_enough() -> None:
    assert holdout(4, seed=1) == []
    held = holdout(10, seed=1)
    assert len(held) == 2 and held == holdout(10, seed=1)


def test_new_categories_are_appended() -> None:
    class C:
        def __init__(self, labels):
            self.labels = labels

    assert merged_categories(["a", "b"], [C(["c", "a"]), C([]), C(["d", "c"])]) == [
        "a",
        "b",
        "c",
        "d",
    ]
    assert targets_for([["b"], [], ["zzz", "a"]], ["a", "b"]).tolist() == [[0, 1], [0, 0], [1, 0]]


def test_compare_and_verdict() -> None:
    cats = ["a", "b"]
    targets = np.array([[1, 0], [0, 1], [0, 1], [1, 0]] * 2, dtype=np.float32)
    good = targets * 0.9 + 0.05
    bad = 1 - good
    limits = {"a": 0.5, "b": 0.5}
    comp = ev.compare("x", bad, good, targets, cats, limits, limits, role=ev.LEARN)
    assert comp.old.accuracy_multi == 0.0 and comp.new.accuracy_multi == 1.0
    assert comp.new.f1 == {"a": 1.0, "b": 1.0}
    assert comp.flips is not None and (comp.flips.fixed, comp.flips.broken) == (8, 0)
    ok, why = verdict.verdict([comp])
    assert ok and why.startswith("the new model is better on x") and "x: 0 -> 8 of 8 right" in why
    worse = ev.compare("y", good, bad, targets, cats, limits, limits)  # 8 broken, none fixed
    ok, why = verdict.verdict([comp, worse])
    assert not ok and "worse on y beyond noise" in why and "8 broken against 0 fixed" in why
    assert verdict.verdict([]) == (False, "there were no images to evaluate the new model on")
    lines = verdict.table([comp])
    assert lines[0] == "x (8 images)"
    assert any(
        line.split()[:1] == ["accuracy_multi"] and line.split()[1:] == ["0.000", "1.000"]
        for line in lines
    )


def test_the_sign_test_tells_noise_from_harm() -> None:
    assert ev.sign_test_p(0, 5) == 1.0 and ev.sign_test_p(2, 0) == 0.25
    assert ev.sign_test_p(5, 0) < ev.ALPHA < ev.sign_test_p(4, 0)
    assert ev.sign_test_p(12, 3) < ev.ALPHA < ev.sign_test_p(10, 4)


def test_kept_breaks_beyond_what_presumed_labels_explain_are_worse() -> None:
    def kept(broken: int, fixed: int) -> ev.Comparison:
        flips = ev.Flips(16, 16 - broken + fixed, fixed, broken, 0.9, 0.8)
        side = _side(0.9, 0.9)
        return ev.Comparison("kept images", 16, side, side, flips=flips, forgiven=2,
                             presumed_rate=ev.KEPT_PRESUMED_WRONG)  # fmt: skip

    # 6 broken, none fixed: 4 against 0 after the allowance, which no sign test can call
    # harm, but 6 of 16 is far more than 15% wrong presumed labels would explain
    assert ev.sign_test_p(4, 0) > ev.ALPHA and kept(6, 0).worse
    assert not kept(3, 0).worse  # about what wrong presumed labels make
    assert ev.binomial_tail(16, 0.15, 6) < ev.ALPHA < ev.binomial_tail(16, 0.15, 4)


def _side(multi: float, exact: float) -> ev.SideMetrics:
    return ev.SideMetrics(multi, exact, 0)


def test_corrections_still_wrong_out_of_fold_count_as_better_when_their_scores_rise() -> None:
    """30 hard corrections, none right out of fold either way: a small mean gain in their
    true categories' scores is better when it rises for clearly more images than it falls."""
    rng = np.random.default_rng(0)
    old_true = rng.uniform(0.05, 0.3, 30)
    wrong = np.zeros(30, dtype=bool)

    def comparison(change: np.ndarray) -> ev.Comparison:
        flips = ev.flips_of(wrong, wrong, old_true, old_true + change)
        side = _side(0.5, 0.0)
        return ev.Comparison("held-out corrections", 30, side, side, flips=flips, role=ev.LEARN)

    mostly_up = np.where(np.arange(30) < 22, 0.04, -0.03)  # mean +0.021: 22 up, 8 down
    comp = comparison(mostly_up)
    assert comp.flips.new_true - comp.flips.old_true < ev.MIN_SCORE_GAIN
    assert (comp.flips.rose, comp.flips.fell) == (22, 8) and comp.better
    ok, why = verdict.verdict([comp])
    assert ok and "(higher for 22, lower for 8)" in why
    even = comparison(np.where(np.arange(30) < 17, 0.05, -0.03))  # +0.016, 17 up, 13 down
    assert even.flips.new_true > even.flips.old_true
    assert not even.better  # chance
    assert not verdict.verdict([even])[0]
    assert comparison(np.full(30, 0.06)).better  # a clear mean gain on its own, as before
    unchanged = comparison(np.zeros(30))
    assert (unchanged.flips.rose, unchanged.flips.fell) == (0, 0) and not unchanged.better


def test_exact_match_comes_first() -> None:
    def worse(old, new) -> bool:
        return ev.Comparison("x", 10, _side(*old), _side(*new)).worse

    assert worse((0.9, 0.5), (0.9, 0.4))  # fewer images exactly right
    assert worse((0.9, 0.5), (0.8, 0.5))  # same exact, more wrong decisions
    assert not worse((0.94, 0.0), (0.88, 0.6))  # "all uncertain" loses to a useful model
    assert not worse((0.9, 0.5), (0.895, 0.495))  # within the tolerance
    assert not ev.Comparison("x", 0, _side(1, 1), _side(0, 0)).worse  # nothing measured


def test_forgotten_categories_block_promotion() -> None:
    comp = ev.Comparison("x", 10, _side(0.5, 0.1), _side(0.9, 0.9))
    ok, why = verdict.verdict([comp], forgotten=["birds", "fish"])
    assert not ok and "forget 2 categories" in why and "(birds, fish)" in why


def test_uncertain_counts_use_each_models_thresholds() -> None:
    targets = np.array([[1, 0], [0, 1]], dtype=np.float32)
    scores = np.array([[0.6, 0.1], [0.1, 0.6]], dtype=np.float32)
    comp = ev.compare("x", scores, scores, targets, ["a", "b"], {"a": 0.7, "b": 0.7}, {})
    assert comp.old.uncertain == 2 and comp.new.uncertain == 0


def test_each_model_is_judged_by_its_own_kind() -> None:
    targets = np.array([[1, 0], [0, 1]], dtype=np.float32)
    scores = np.array([[0.7, 0.6], [0.4, 0.9]], dtype=np.float32)  # the first passes both
    limits = {"a": 0.5, "b": 0.5}
    comp = ev.compare("x", scores, scores, targets, ["a", "b"], limits, limits, new_exclusive=True)
    assert comp.old.exact_match == 0.5 and comp.new.exact_match == 1.0
    assert comp.old.accuracy_multi == 0.75 and comp.new.accuracy_multi == 1.0
    both = ev.compare("y", scores, scores, targets, ["a", "b"], limits, limits,
                      old_exclusive=True, new_exclusive=True)  # fmt: skip
    assert both.old == both.new and not both.worse


# ---- training -----------------------------------------------------------------------------------


def test_nothing_to_learn_is_a_clear_error(red_blue_model: Path) -> None:
    with pytest.raises(RetrainError, match="no corrections waiting"):
        prepare(red_blue_model)


@pytest.mark.slow
def test_corrections_teach_a_new_category_and_are_promoted(
    red_blue_model: Path, tmp_path: Path, fast_heads
) -> None:
    queue = CorrectionQueue()
    greens = [noisy_image(tmp_path / f"g{i}.png", GREEN, 200 + i) for i in range(8)]
    for path in greens:
        queue.add(path, ["green"])
    result = retrain(red_blue_model, folds=2)
    assert result.promoted, result.message
    assert result.version == "v1"
    assert result.current_model == list_versions(include_default=False)[0].path
    assert load_settings().model_path == str(result.current_model)
    meta, _ = read_model(result.current_model)
    assert meta.categories == ["blue", "red", "green"]
    assert meta.exclusive and read_model(red_blue_model)[0].exclusive  # the kind is kept
    assert meta.training["data_path"]  # the next retrain can find the original data again
    names = [c.name for c in result.candidate.comparisons]
    assert names == ["held-out corrections", "original validation"]
    held = result.candidate.comparisons[0]
    assert held.images == 8 and held.new.accuracy_multi > held.old.accuracy_multi
    assert queue.pending_count() == 0
    assert {c.used_in_version for c in queue.list(include_used=True)} == {"v1"}
    fresh = noisy_image(tmp_path / "another-green.png", GREEN, 999)
    assert top_category(result.current_model, fresh) == "green"
    assert top_category(result.current_model, noisy_image(tmp_path / "r.png", RED, 998)) == "red"
    report = result.to_dict()
    assert report["current_model"] == str(result.current_model) and report["table"]


@pytest.mark.slow
def test_a_cross_validated_model_relearns_all_its_images_and_is_judged_on_every_one(
    red_blue_model: Path, tmp_path: Path, fast_heads
) -> None:
    """Quick training learned every one of its images (no hold-out): a retrain does too, and
    compares the two models on every original image, each scored out of fold."""
    from sorter.core.training.data import load_training_data

    meta, _ = read_model(red_blue_model)
    assert meta.training.get("cross_validation")
    originals = len(load_training_data(Path(meta.training["data_path"])).items)
    queue = CorrectionQueue()
    for i in range(6):
        queue.add(noisy_image(tmp_path / f"g{i}.png", GREEN, 500 + i), ["green"])
    result = retrain(red_blue_model, folds=2)
    judged = {c.name: c for c in result.candidate.comparisons}
    assert judged["original validation"].images == originals == 24
    assert judged["original validation"].new.accuracy_multi > 0.9  # red and blue still known
    assert result.promoted, result.message


@pytest.mark.slow
def test_a_correction_weight_reaches_every_fit(
    red_blue_model: Path, tmp_path: Path, fast_heads, monkeypatch
) -> None:
    """With a correction weight, the final model, the cross-validation's models and the
    candidate judged on the original images all learn each correction that many times: the
    recipe judged is the recipe shipped."""
    from sorter.core.learning import quick

    weight = 3  # Sorter's is 1 (measured, bench/README.md); the bench tries others
    monkeypatch.setattr(quick, "CORRECTION_WEIGHT", weight)
    green_rows: list[int] = []
    real_fit = quick.fit_probe_head

    def counting_fit(x, y, **kwargs):
        green_rows.append(int(y[:, 2].sum()))  # green: the category only corrections teach
        return real_fit(x, y, **kwargs)

    monkeypatch.setattr(quick, "fit_probe_head", counting_fit)
    queue = CorrectionQueue()
    for i in range(6):
        queue.add(noisy_image(tmp_path / f"g{i}.png", GREEN, 800 + i), ["green"])
    candidate = prepare(red_blue_model, folds=2)
    assert candidate.meta.categories == ["blue", "red", "green"]
    # two cross-validation models (3 corrections each), the final one, and the two
    # candidates that score the original images' folds (every correction)
    assert sorted(green_rows) == [3 * weight] * 2 + [6 * weight] * 3
    assert candidate.meta.training["correction_weight"] == weight
    assert candidate.meta.training["corrections"] == 6  # counted once in the summary


@pytest.mark.slow
def test_a_bad_retrain_is_not_promoted(red_blue_model: Path, tmp_path: Path, fast_heads) -> None:
    queue = CorrectionQueue()
    for i in range(15):  # deliberately wrong labels: red photos called blue and back
        queue.add(noisy_image(tmp_path / f"r{i}.png", RED, 300 + i), ["blue"])
        queue.add(noisy_image(tmp_path / f"b{i}.png", BLUE, 400 + i), ["red"])
    result = retrain(red_blue_model, folds=2)
    assert not result.promoted
    assert "worse on original validation" in result.message
    assert list_versions(include_default=False) == []
    assert load_settings().model_path is None
    assert queue.pending_count() == 30  # nothing marked used
    # what --yes does after the table was shown: promote anyway
    assert not result.candidate.better and result.candidate.table()
    assert promote(result.candidate, queue) == "v1"
    assert queue.pending_count() == 0


@pytest.mark.slow
def test_without_the_original_data_it_starts_from_the_current_weights(
    tmp_path: Path, fast_heads
) -> None:
    data = make_training_folder(tmp_path / "data")
    model = train_tiny(data, tmp_path / "model.pth", labels="multi")
    shutil.rmtree(data)
    queue = _green_and_red_corrections(tmp_path)
    candidate = prepare(model, folds=2)
    assert candidate.better, candidate.reason
    assert any("is gone" in note for note in candidate.notes)
    assert any("current model's head" in note for note in candidate.notes)
    assert [c.name for c in candidate.comparisons] == ["held-out corrections"]
    promote(candidate, queue)
    current = Path(load_settings().model_path)
    # blue was never corrected: what the old head knew of it must survive
    assert "blue" in decided(current, noisy_image(tmp_path / "b.png", BLUE, 700))
    assert "green" in decided(current, noisy_image(tmp_path / "g.png", GREEN, 701))
    assert decided(current, noisy_image(tmp_path / "r.png", RED, 702)) == ["red"]


def _green_and_red_corrections(tmp_path: Path) -> CorrectionQueue:
    queue = CorrectionQueue()
    for i in range(6):
        queue.add(noisy_image(tmp_path / f"g{i}.png", GREEN, 500 + i), ["green"])
        queue.add(noisy_image(tmp_path / f"r{i}.png", RED, 600 + i), ["red"])
    return queue


@pytest.mark.slow
def test_a_single_label_model_without_its_data_cannot_vouch_for_uncorrected_categories(
    tmp_path: Path, fast_heads
) -> None:
    data = make_training_folder(tmp_path / "data")
    model = train_tiny(data, tmp_path / "model.pth")
    shutil.rmtree(data)
    queue = _green_and_red_corrections(tmp_path)
    candidate = prepare(model, folds=2)
    assert candidate.meta.exclusive
    assert any("current model's head" in note for note in candidate.notes)
    # a softmax taught green from corrections alone may take blue's images: not promoted
    assert not candidate.better and "would forget 1 category" in candidate.reason
    assert "(blue)" in candidate.reason
    promote(candidate, queue)  # what --yes does: the corrections are learned, one folder each
    current = Path(load_settings().model_path)
    assert top_category(current, noisy_image(tmp_path / "g.png", GREEN, 701)) == "green"
    assert top_category(current, noisy_image(tmp_path / "r.png", RED, 702)) == "red"


@pytest.mark.slow
def test_retraining_the_default_model_keeps_its_categories_and_learns_the_corrections(
    tmp_path, fast_heads
) -> None:
    samples = sorted(asset_path("samples").glob("*.jpg"))
    before = {p.name: decided(default_model_path(), p) for p in samples}
    queue = CorrectionQueue()
    corrected = {}
    for i in range(3):
        corrected[noisy_image(tmp_path / f"y{i}.png", YELLOW, i)] = "yellow things"
        corrected[noisy_image(tmp_path / f"r{i}.png", RED, 10 + i)] = "food & drink"
    for path, label in corrected.items():
        queue.add(path, [label])
    result = retrain(folds=2)  # the embedded default: no training data, a torchvision head
    assert result.promoted, result.message
    default, _ = read_model(default_model_path())
    meta, _ = read_model(result.current_model)
    assert meta.categories == [*default.categories, "yellow things"]
    assert (meta.builder, meta.activation, meta.n_outputs) == (
        "torchvision",
        "softmax-groups",
        1001,
    )
    assert meta.exclusive and meta.groups["yellow things"] == [1000]
    assert all(meta.groups[c] == default.groups[c] for c in default.categories)
    for path, label in corrected.items():
        assert decided(result.current_model, path) == [label]
    # what the default model sorted (the bundled sample photos) it still sorts the same way
    after = {p.name: decided(result.current_model, p) for p in samples}
    assert after == before and sum(bool(v) for v in before.values()) >= 8


@pytest.mark.slow
def test_a_candidate_that_breaks_kept_images_is_not_promoted(tmp_path: Path, fast_heads) -> None:
    data = make_training_folder(tmp_path / "data")
    model = train_tiny(data, tmp_path / "model.pth")
    shutil.rmtree(data)  # only the corrections and the kept images can speak for red and blue
    photos = tmp_path / "photos"
    for i in range(8):
        noisy_image(photos / f"r{i}.png", RED, 40 + i)
        noisy_image(photos / f"b{i}.png", BLUE, 60 + i)
    sort_folder(photos, tmp_path / "out", model=load_model(model, device="cpu"))
    queue = CorrectionQueue()
    # consistent, wrong corrections: cross-validation alone finds them fine. Enough of them
    # that the candidate (pulled towards the current model) swaps the kept images' colours too.
    for i in range(20):
        queue.add(noisy_image(tmp_path / f"r{i}.png", RED, 300 + i), ["blue"])
        queue.add(noisy_image(tmp_path / f"b{i}.png", BLUE, 400 + i), ["red"])
    candidate = prepare(model, folds=2)
    assert not candidate.better, candidate.reason
    assert "worse on kept images beyond noise" in candidate.reason
    names = [c.name for c in candidate.comparisons]
    assert names == ["held-out corrections", "kept images"]
    kept = candidate.comparisons[1]
    assert kept.images >= 8 and kept.worse
    assert "held-out corrections:" in candidate.reason and "kept images:" in candidate.reason


@pytest.mark.slow
@pytest.mark.parametrize("with_data", [True, False])
def test_a_multi_label_model_retrains_as_multi_label(tmp_path, fast_heads, with_data) -> None:
    data = make_training_folder(tmp_path / "data")
    model = train_tiny(data, tmp_path / "multi.pth", labels="multi")
    if not with_data:  # the warm start from the base model's own head
        shutil.rmtree(data)
    queue = CorrectionQueue()
    for i in range(4):
        queue.add(noisy_image(tmp_path / f"g{i}.png", GREEN, 40 + i), ["green"])
    candidate = prepare(model, folds=2)
    assert not candidate.meta.exclusive and candidate.meta.activation == "sigmoid"
    assert candidate.meta.categories == ["blue", "red", "green"]
    # and the other way: the single-label base keeps its softmax from the same corrections
    single = train_tiny(make_training_folder(tmp_path / "data2"), tmp_path / "single.pth")
    assert prepare(single, folds=2).meta.exclusive


def test_cancel_stores_nothing(red_blue_model: Path, tmp_path: Path) -> None:
    queue = CorrectionQueue()
    for i in range(3):
        queue.add(noisy_image(tmp_path / f"g{i}.png", GREEN, 800 + i), ["green"])
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        retrain(red_blue_model, cancel=token)
    assert list_versions(include_default=False) == []
    assert queue.pending_count() == 3


@pytest.mark.slow
def test_full_mode_runs_the_training_modules_fine_tuning(red_blue_model: Path, tmp_path) -> None:
    queue = CorrectionQueue()
    for i in range(6):
        queue.add(noisy_image(tmp_path / f"g{i}.png", GREEN, 900 + i), ["green"])
    candidate = prepare(red_blue_model, "full")
    assert candidate.meta.categories == ["blue", "red", "green"]
    assert candidate.meta.exclusive  # full mode trains the base model's kind too
    assert candidate.meta.training["mode"] == "retrain-full"
    held = candidate.comparisons[0]
    assert held.name == "held-out corrections" and held.images == 1  # 20% of 6, kept out
    assert len(candidate.used_ids) == 5  # the held-out one stays queued for next time
    assert candidate.comparisons[1].images > 0
