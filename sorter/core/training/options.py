"""What a training run can be told (TrainOptions) and the check that a run could use them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sorter.core.errors import SorterError
from sorter.core.model.arch_names import DEFAULT_ARCH
from sorter.core.model.networks import ARCHS
from sorter.core.training.modes import TRAIN_MODES

if TYPE_CHECKING:
    from sorter.core.training.data import TrainData

LABEL_KINDS = (None, "single", "multi")  # TrainOptions.labels


@dataclass
class TrainOptions:
    """Everything a training run can be told; the defaults suit most users."""

    mode: str = "quick"
    arch: str = DEFAULT_ARCH
    epochs: int | None = None  # None: the mode's default_epochs
    valid_pct: float = 0.2
    seed: int = 42
    group: str | None = None
    input_size: int = 224
    batch_size: int = 32
    default_threshold: float = 0.5
    device: str = "auto"
    mirror: bool = False  # quick mode: also learn from mirrored training images (2x features)
    # "single": a single-label model (softmax; one folder per image), "multi": a multi-label
    # one (a sigmoid per category); None: from the data (TrainData.single_label).
    labels: str | None = None

    @property
    def epoch_count(self) -> int:
        return self.epochs if self.epochs is not None else TRAIN_MODES.get(self.mode).default_epochs


def check_options(options: TrainOptions) -> None:
    """Raise SorterError for options no run could use."""
    TRAIN_MODES.get(options.mode)  # an unknown mode raises SorterError naming the modes
    if options.arch not in ARCHS:
        raise SorterError(f"Unknown architecture {options.arch!r}; choose {', '.join(ARCHS)}.")
    if options.epoch_count < 1:
        raise SorterError("Training needs at least one epoch.")
    if not 0.0 <= options.valid_pct < 1.0:
        raise SorterError("The validation share must be at least 0 and below 1 (e.g. 0.2).")
    if options.input_size < 32:
        raise SorterError("The input size must be at least 32 pixels.")
    if options.labels not in LABEL_KINDS:
        raise SorterError(f"Labels must be single, multi or from the data, not {options.labels!r}.")


def single_label(options: TrainOptions, data: TrainData) -> bool:
    """Whether the run trains a single-label model: as `options.labels` says, else as the data
    does (every image with exactly one label: TrainData.single_label)."""
    if options.labels is None:
        return data.single_label
    return options.labels == "single"
