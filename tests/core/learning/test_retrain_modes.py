"""Retrain modes are chosen by name before anything is read or trained."""

from __future__ import annotations

import pytest

from sorter.core.learning.modes import RETRAIN_MODES
from sorter.core.learning.retrain import RetrainError, prepare


def test_retrain_modes_match_train_modes() -> None:
    from sorter.core.training.modes import TRAIN_MODES

    assert RETRAIN_MODES.names == TRAIN_MODES.names


def test_unknown_mode_is_refused_before_the_model_is_read(tmp_path) -> None:
    with pytest.raises(RetrainError, match="Unknown retrain mode 'fast'; choose quick or full"):
        prepare(tmp_path / "no-such-model.pth", "fast")


def test_a_retrained_multi_label_model_keeps_its_folder_limit_raised_by_corrections():
    from types import SimpleNamespace

    from fakes import tiny_meta

    from sorter.core.learning.candidate_meta import label_cap

    capped = tiny_meta(max_labels=2)
    correction = SimpleNamespace  # a queued correction: only its labels matter here
    data = SimpleNamespace(corrections=[correction(labels=["cats"])])
    assert label_cap(capped, data) == 2
    data.corrections.append(correction(labels=["cats", "dogs", "cars"]))
    assert label_cap(capped, data) == 3  # the user said three: three folders may be right
    assert label_cap(tiny_meta(), data) is None  # no limit before: none after
