"""The linear probe: fitting, and its exact copy in fastai's head layout."""

import pytest
import torch

from sorter.core.model.networks import fastai_head
from sorter.core.training.probe import Probe, fit_probe, fits_fastai_head, probe_head


def _blobs(n_per: int = 12, classes: int = 3, features: int = 20, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, features, generator=generator) * 3
    labels = torch.arange(classes).repeat_interleave(n_per)
    x = centres[labels] + torch.randn(len(labels), features, generator=generator)
    return x.abs(), torch.eye(classes)[labels]  # ReLU6-like features are never negative


@pytest.mark.parametrize("exclusive", [True, False])
def test_probe_learns_separable_features(exclusive):
    x, y = _blobs()
    probe = fit_probe(x, y, exclusive=exclusive, l2=1e-3)
    assert (probe.scores(x).argmax(axis=1) == y.argmax(dim=1).numpy()).all()
    if exclusive:
        assert probe.scores(x).sum(axis=1) == pytest.approx(1.0, abs=1e-5)


def test_more_l2_means_smaller_weights_and_softer_scores():
    x, y = _blobs()
    loose = fit_probe(x, y, exclusive=True, l2=1e-4)
    tight = fit_probe(x, y, exclusive=True, l2=1.0)
    assert tight.weight.norm() < loose.weight.norm() / 5
    assert tight.scores(x).max() < loose.scores(x).max()


@pytest.mark.parametrize("exclusive", [True, False])
def test_probe_head_computes_the_probes_logits_exactly(exclusive):
    x, y = _blobs(features=16)  # fastai's head pools: its input has 2 * n_features columns
    x = torch.cat([x, x * 0.5 + 0.1], dim=1)
    probe = fit_probe(x, y, exclusive=exclusive, l2=1e-2)
    head = probe_head(probe, n_features=16)
    assert [type(m) for m in head] == [type(m) for m in fastai_head(16, 3)]  # same layout
    assert set(head.state_dict()) == set(fastai_head(16, 3).state_dict())
    fresh = torch.rand(50, 32) * 5  # unseen features, some far from the training ones
    with torch.no_grad():
        assert torch.allclose(head[2:](fresh), probe.logits(fresh), atol=1e-4)


def test_a_constant_feature_is_not_blown_up():
    x, y = _blobs(features=8)
    x[:, 3] = 2.0  # the same in every training image
    probe = fit_probe(x, y, exclusive=True, l2=1e-2)
    assert probe.std[3] > 0 and torch.isfinite(probe.weight).all()
    with torch.no_grad():
        head = probe_head(probe, n_features=4)
        assert torch.allclose(head[2:](x), probe.logits(x), atol=1e-4)


def test_the_head_holds_up_to_256_categories():
    assert fits_fastai_head(256) and not fits_fastai_head(257)
    wide = Probe(torch.zeros(4), torch.ones(4), torch.zeros(257, 4), torch.zeros(257), True)
    with pytest.raises(ValueError):
        probe_head(wide, n_features=2)


def test_a_probe_head_is_read_back_and_another_head_is_not():
    from sorter.core.training.probe import probe_of_head

    x, y = _blobs(features=8)
    x = torch.cat([x, x + 1], dim=1)
    probe = fit_probe(x, y, exclusive=True, l2=1e-2)
    back = probe_of_head(probe_head(probe, n_features=8), exclusive=True)
    assert back is not None
    assert torch.allclose(back.logits(x), probe.logits(x), atol=1e-4)
    assert probe_of_head(fastai_head(8, 3), exclusive=True) is None  # fastai's own, random


@pytest.mark.parametrize("exclusive", [True, False])
def test_an_anchored_fit_learns_new_examples_and_keeps_what_they_do_not_show(exclusive):
    x, y = _blobs(classes=3, seed=1)
    before = fit_probe(x, y, exclusive=exclusive, l2=1e-2)
    # new examples of categories 0 and 1 only, plus a fourth category never seen before
    new_x, new_y = _blobs(classes=4, seed=2)
    shown = new_y[:, 2] == 0
    after = fit_probe(new_x[shown], new_y[shown], exclusive=exclusive, l2=1e-2, anchor=before)
    third = y[:, 2] > 0  # the old examples of category 2: no new example shows it
    assert (after.scores(x[third]).argmax(axis=1) == 2).all()
    fourth = new_y[:, 3] > 0
    assert (after.scores(new_x[fourth]).argmax(axis=1) == 3).all()
    unanchored = fit_probe(new_x[shown], new_y[shown], exclusive=exclusive, l2=1e-2)
    assert not (unanchored.scores(x[third]).argmax(axis=1) == 2).all()  # without: forgotten
