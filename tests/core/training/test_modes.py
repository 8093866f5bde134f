"""The training modes registry: names, each mode's default epochs, one clear error for others."""

from __future__ import annotations

import pytest

from sorter.core.errors import SorterError
from sorter.core.training.modes import TRAIN_MODES, Modes
from sorter.core.training.options import TrainOptions


def test_train_modes_and_their_default_epochs() -> None:
    assert TRAIN_MODES.names == ("quick", "full")  # the CLI's --mode choices and help text
    assert TrainOptions().epoch_count == 40
    assert TrainOptions(mode="full").epoch_count == 4
    assert TrainOptions(mode="full", epochs=2).epoch_count == 2


def test_an_unknown_mode_names_the_choices() -> None:
    class Boom(SorterError):
        pass

    class Stub:
        def __init__(self, name: str) -> None:
            self.name = name

    modes = Modes(Stub("a"), Stub("b"), what="test", error=Boom)
    assert modes.get("b").name == "b"
    with pytest.raises(Boom, match=r"Unknown test mode 'c'; choose a or b\."):
        modes.get("c")
