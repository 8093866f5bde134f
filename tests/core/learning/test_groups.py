"""Tests for retraining a softmax-groups model's last layer (the embedded default's kind)."""

from __future__ import annotations

import numpy as np
import torch

from sorter.core.learning import groups
from sorter.core.learning.data import targets_for


def _layer() -> groups.GroupLayer:
    """Five outputs: a = {0, 1}, b = {2}, c = {3}; output 4 is in no group (uncertain mass)."""
    torch.manual_seed(0)
    return groups.GroupLayer(
        torch.randn(5, 8) * 0.1, torch.zeros(5), {"a": [0, 1], "b": [2], "c": [3]}, ["a", "b", "c"]
    )


def test_a_new_category_gets_an_output_of_its_own(tmp_path) -> None:
    from fakes import tiny_meta

    meta = tiny_meta(["a", "b"], activation="softmax-groups", n_outputs=3,
                     groups={"a": [0], "b": [1, 2]})  # fmt: skip
    layer = groups.extended_layer(torch.ones(3, 4), torch.arange(3.0), meta, ["a", "b", "new"])
    assert layer.groups == {"a": [0], "b": [1, 2], "new": [3]}
    assert layer.weight.shape == (4, 4) and layer.weight[3].abs().sum() == 0
    assert layer.bias[3] == 0.0  # the lowest old bias: it starts with almost no probability
    scores = layer.scores(torch.ones(2, 4))
    assert scores.shape == (2, 3) and np.allclose(scores.sum(axis=1), 1.0)


def test_none_of_these_aims_at_the_outputs_in_no_group() -> None:
    masks = groups.output_masks(_layer(), targets_for([["b"], []], ["a", "b", "c"]))
    assert masks.tolist() == [[0, 0, 1, 0, 0], [0, 0, 0, 0, 1]]


def test_fitting_learns_the_images_and_keeps_what_no_image_shows() -> None:
    base = _layer()
    x = torch.zeros(6, 8)
    x[:3, 0], x[3:, 1] = 3.0, 3.0  # two kinds of image
    y = targets_for([["b"]] * 3 + [["a"]] * 3, base.categories)
    probe = torch.zeros(1, 8)
    probe[0, 5] = 3.0  # an image unlike any taught
    fitted = groups.fit_layer(base, [(x, groups.output_masks(base, y), 1.0)], n_old=5, seed=0)
    scores = fitted.scores(x)
    assert (scores[:3, 1] > 0.5).all() and (scores[3:, 0] > 0.5).all()
    assert np.allclose(fitted.scores(probe), base.scores(probe), atol=0.05)
    # weights change only along the features the images show (the span of the training images)
    assert torch.allclose(fitted.weight[:, 2:], base.weight[:, 2:], atol=1e-6)
    assert not torch.allclose(fitted.weight[:, :2], base.weight[:, :2], atol=0.05)
