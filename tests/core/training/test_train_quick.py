"""Quick mode's head training: mixup, and the start head full mode takes from it."""

from __future__ import annotations

import pytest
import torch

from sorter.core.training.quick import (
    HeadSettings,
    head_loss,
    head_scores,
    kind_settings,
    label_distribution,
    mix,
    train_head,
)


def test_mix_off_returns_the_batch_unchanged():
    x, y = torch.randn(6, 4), torch.eye(6)[:, :3]
    mixed_x, mixed_y = mix(x, y, 0.0, torch.Generator().manual_seed(0))
    assert mixed_x is x and mixed_y is y


def test_mix_blends_rows_and_labels_with_one_weight_and_repeats():
    x = torch.arange(24, dtype=torch.float32).view(6, 4)
    y = torch.eye(6)
    mixed_x, mixed_y = mix(x, y, 0.4, torch.Generator().manual_seed(3))
    again_x, again_y = mix(x, y, 0.4, torch.Generator().manual_seed(3))
    assert torch.equal(mixed_x, again_x) and torch.equal(mixed_y, again_y)
    # Each mixed label row holds lam on its own row's label and 1 - lam on its partner's.
    lam = float(mixed_y.max(dim=1).values.min())
    assert 0.5 <= lam <= 1.0 and torch.allclose(mixed_y.sum(dim=1), torch.ones(6))
    partner = [next((int(k) for k in torch.nonzero(row).flatten() if k != i), i)
               for i, row in enumerate(mixed_y)]  # fmt: skip
    assert any(j != i for i, j in enumerate(partner))
    weights = mixed_y.gather(1, torch.arange(6).view(6, 1)).flatten()
    for i, j in enumerate(partner):
        if j == i:
            continue
        expected = weights[i] * x[i] + (1 - weights[i]) * x[j]
        assert torch.allclose(mixed_x[i], expected)


def test_head_trains_with_mixup_and_separates_two_clusters():
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(2, 16, generator=gen) * 3
    labels = torch.arange(40) % 2
    x = centres[labels] + torch.randn(40, 16, generator=gen)
    y = torch.nn.functional.one_hot(labels, 2).float()
    settings = HeadSettings(epochs=15, mixup=0.4, batch_size=8)
    result = train_head(x[:30], y[:30], x[30:], y[30:], n_features=8, settings=settings, seed=1)
    predicted = head_scores(result.head, x[30:]).argmax(dim=1)
    assert (predicted == labels[30:]).float().mean() >= 0.9


def test_a_single_label_head_learns_a_softmax_over_three_clusters():
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 16, generator=gen) * 3
    labels = torch.arange(60) % 3
    x = centres[labels] + torch.randn(60, 16, generator=gen)
    y = torch.nn.functional.one_hot(labels, 3).float()
    settings = HeadSettings(epochs=15, batch_size=8, exclusive=True)
    result = train_head(x[:45], y[:45], x[45:], y[45:], n_features=8, settings=settings, seed=1)
    scores = head_scores(result.head, x[45:], exclusive=True)
    assert torch.allclose(scores.sum(dim=1), torch.ones(15), atol=1e-5)  # one softmax
    assert (scores.argmax(dim=1) == labels[45:]).float().mean() >= 0.9
    # its validation loss was the cross-entropy the softmax trained on, not per-category BCE
    with torch.no_grad():
        logits = result.head[2:](x[45:])
    valid = [row["valid_loss"] for row in result.history if row["epoch"] == result.best_epoch]
    assert valid[0] == pytest.approx(float(head_loss(logits, y[45:], exclusive=True)), rel=1e-4)


def test_single_label_heads_run_every_epoch_and_keep_the_last():
    assert kind_settings(True, epochs=7).keep == "last" and kind_settings(True).exclusive
    assert kind_settings(False).keep == "best" and not kind_settings(False).exclusive
    gen = torch.Generator().manual_seed(2)
    x, labels = torch.randn(24, 8, generator=gen), torch.arange(24) % 2
    y = torch.nn.functional.one_hot(labels, 2).float()
    # validation labels opposite to training: the validation loss rises from the first epochs
    flipped = 1 - y[16:]
    best = HeadSettings(epochs=12, batch_size=8, patience=2, exclusive=True)
    stopped = train_head(x[:16], y[:16], x[16:], flipped, n_features=4, settings=best, seed=0)
    assert len(stopped.history) < 12  # patience ended it
    last = kind_settings(True, epochs=12, batch_size=8, patience=2)
    result = train_head(x[:16], y[:16], x[16:], flipped, n_features=4, settings=last, seed=0)
    assert len(result.history) == 12 and result.best_epoch < 12
    kept = float(head_loss(result.head[2:](x[16:]).detach(), flipped, exclusive=True))
    assert kept == pytest.approx(result.history[-1]["valid_loss"], rel=1e-5)  # the last epoch's


def test_label_distribution_spreads_several_labels_and_none_evenly():
    y = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    wanted = torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    assert torch.allclose(label_distribution(y), wanted)
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    expected = -torch.log_softmax(logits, dim=1)[0, 0]
    assert torch.isclose(head_loss(logits, y[:1], exclusive=True), expected)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y[:1])
    assert torch.isclose(head_loss(logits, y[:1], exclusive=False), bce)


def test_full_modes_start_head_stops_clearly_when_an_image_turns_unreadable(tmp_path, monkeypatch):
    import pytest

    from sorter.core.training import finetune as train_finetune
    from sorter.core.training import quick as train_quick
    from sorter.core.training.data import Split, TrainingDataError, from_items

    vanished = tmp_path / "gone.png"
    data = from_items([(tmp_path / "a.png", ["x"]), (vanished, ["y"])], tmp_path)

    def features_with_one_bad(paths, *args, **kwargs):
        return torch.zeros(1, 2560), {vanished: "file not found"}

    monkeypatch.setattr(train_quick, "extract_features", features_with_one_bad)
    monkeypatch.setattr(train_finetune, "pretrained_body", lambda *_: torch.nn.Identity())
    split = Split(train=[0], valid=[1], warnings=[])
    with pytest.raises(TrainingDataError, match=r"became unreadable while training .*gone\.png"):
        train_finetune.quick_head(
            data, split, "mobilenet_v2", tmp_path / "w.pth", 224, torch.device("cpu"), seed=0
        )


def test_full_modes_start_head_keeps_each_group_in_one_fold(tmp_path, monkeypatch):
    """--group holds in full mode's starting probe too: its cross-validation gets the group of
    each training image (the validation part's images left out)."""
    from sorter.core.training import crossval
    from sorter.core.training import finetune as train_finetune
    from sorter.core.training import quick as train_quick
    from sorter.core.training.data import Split, from_items

    items = [(tmp_path / f"shoot{i // 3}" / f"{i}.png", ["x" if i % 2 else "y"]) for i in range(12)]
    data = from_items(items, tmp_path)
    monkeypatch.setattr(
        train_quick, "extract_features", lambda paths, *a, **k: (torch.randn(len(paths), 8), {})
    )
    monkeypatch.setattr(train_finetune, "pretrained_body", lambda *_: torch.nn.Identity())
    monkeypatch.setitem(train_finetune.BODY_FEATURES, "tiny", 4)
    seen = {}
    real = crossval.fit_cross_validated

    def spy(x, y, **kwargs):
        seen["keys"] = kwargs.get("keys")
        return real(x, y, **kwargs)

    monkeypatch.setattr(crossval, "fit_cross_validated", spy)
    split = Split(train=list(range(9)), valid=[9, 10, 11], warnings=[])
    train_finetune.quick_head(
        data, split, "tiny", tmp_path / "w.pth", 32, torch.device("cpu"), seed=0,
        group=r"shoot\d+",
    )  # fmt: skip
    keys = seen["keys"]
    assert keys is not None and len(keys) == 9  # the training part's images only
    assert [len(set(keys[i : i + 3])) for i in (0, 3, 6)] == [1, 1, 1]  # a shoot: one key
    assert len(set(keys)) == 3
