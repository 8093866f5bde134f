"""What a training run can be told (TrainOptions) and the check that a run could use them."""

from __future__ import annotations

from dataclasses import dataclass

from sorter.core.errors import SorterError
from sorter.core.model.networks import ARCHS

MODES = ("quick", "full")
DEFAULT_EPOCHS = {"quick": 40, "full": 4}


@dataclass
class TrainOptions:
    """Everything a training run can be told; the defaults suit most users."""

    mode: str = "quick"
    arch: str = "mobilenet_v2"
    epochs: int | None = None  # None: DEFAULT_EPOCHS[mode]
    valid_pct: float = 0.2
    seed: int = 42
    group: str | None = None
    input_size: int = 224
    batch_size: int = 32
    default_threshold: float = 0.5
    device: str = "auto"
    mirror: bool = False  # quick mode: also learn from mirrored training images (2x features)

    @property
    def epoch_count(self) -> int:
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS[self.mode]


def check_options(options: TrainOptions) -> None:
    """Raise SorterError for options no run could use."""
    if options.mode not in MODES:
        raise SorterError(f"Unknown training mode {options.mode!r}; choose quick or full.")
    if options.arch not in ARCHS:
        raise SorterError(f"Unknown architecture {options.arch!r}; choose {', '.join(ARCHS)}.")
    if options.epoch_count < 1:
        raise SorterError("Training needs at least one epoch.")
    if not 0.0 <= options.valid_pct < 1.0:
        raise SorterError("The validation share must be at least 0 and below 1 (e.g. 0.2).")
    if options.input_size < 32:
        raise SorterError("The input size must be at least 32 pixels.")
