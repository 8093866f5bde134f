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
