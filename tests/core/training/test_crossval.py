"""k-fold cross-validation on cached features: folds, out-of-fold scores, the L2 chosen."""

import numpy as np
import pytest
import torch

from sorter.core.training import crossval


def _targets(counts: list[int]) -> np.ndarray:
    labels = np.repeat(np.arange(len(counts)), counts)
    return np.eye(len(counts))[labels]


def test_folds_spread_every_category_evenly():
    targets = _targets([10, 10, 7, 3])
    folds = crossval.fold_ids(targets, 5, seed=1)
    for col in range(4):
        per_fold = np.bincount(folds[targets[:, col] > 0], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1, (col, per_fold)
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1  # folds of equal size


def test_a_group_stays_in_one_fold():
    targets = _targets([12, 12])
    keys = [f"shoot{i // 3}" for i in range(24)]  # 8 groups of 3 images
    folds = crossval.fold_ids(targets, 4, seed=0, keys=keys)
    for group in set(keys):
        assert len({folds[i] for i, k in enumerate(keys) if k == group}) == 1


def test_fewer_folds_when_a_category_is_small():
    assert crossval.fold_count(_targets([10, 10])) == 5
    assert crossval.fold_count(_targets([10, 3])) == 3
    assert crossval.fold_count(_targets([10, 1])) == 2


def _with_mislabelled(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(2).repeat_interleave(10)
    # the category shows in 2 features; 60 more are noise, enough for a probe to learn any
    # labelling of 20 images by heart
    signal = torch.eye(2)[labels] * 6
    x = torch.cat([signal, torch.rand(20, 60, generator=generator)], dim=1)
    y = torch.eye(2)[labels]
    y[0] = torch.tensor([0.0, 1.0])  # image 0 looks like category 0 but is labelled 1
    return x, y


def test_every_image_is_scored_by_a_probe_that_did_not_learn_it():
    x, y = _with_mislabelled()
    folds = crossval.fold_ids(y.numpy(), 5, seed=0)
    cv = crossval.cross_validate(x, y, folds, exclusive=True, grid=(1e-4,))
    # out of fold, image 0 looks like the others of category 0; a probe that had learned its
    # label (little regularisation) would score its label high
    assert cv.scores[0].argmax() == 0
    # mirrored rows of the held-out image stay out too (here: the same features again)
    mirrored = crossval.cross_validate(x, y, folds, exclusive=True, grid=(1e-4,), mirrored=x)
    assert mirrored.scores[0].argmax() == 0


def _clear(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(2).repeat_interleave(10)
    x = torch.cat([torch.eye(2)[labels] * 3, torch.rand(20, 3, generator=generator)], dim=1)
    return x, torch.eye(2)[labels]


def test_the_l2_with_the_lowest_out_of_fold_loss_is_chosen():
    x, y = _clear()
    folds = crossval.fold_ids(y.numpy(), 5, seed=0)
    cv = crossval.cross_validate(x, y, folds, exclusive=True, grid=(1e-4, 1e-2, 10.0))
    assert set(cv.losses) == {1e-4, 1e-2, 10.0}
    assert cv.losses[cv.l2] == min(cv.losses.values())
    assert cv.l2 != 10.0  # so strong a pull leaves every score near 1/2
    assert cv.k == 5


def test_spread_gives_each_figure_over_the_folds():
    x, y = _clear()
    y[0] = torch.tensor([0.0, 1.0])  # one image labelled against its looks: always wrong
    folds = crossval.fold_ids(y.numpy(), 4, seed=0)
    cv = crossval.cross_validate(x, y, folds, exclusive=True, grid=(1e-2,))
    spread = crossval.spread(cv, y.numpy(), ["a", "b"], {"a": 0.5, "b": 0.5}, exclusive=True)
    right = cv.scores.argmax(axis=1) == y.numpy().argmax(axis=1)
    per_fold = [right[folds == f].mean() for f in range(4)]
    assert spread["top1"]["folds"] == 4 and not right[0]
    assert spread["top1"]["mean"] == pytest.approx(np.mean(per_fold))
    assert spread["top1"]["sd"] == pytest.approx(np.std(per_fold)) and spread["top1"]["sd"] > 0


def test_categories_with_few_images_are_named():
    warnings = crossval.few_image_warnings({"cats": 12, "dogs": 3, "owls": 4})
    assert len(warnings) == 2 and "'dogs' has only 3" in warnings[0]
