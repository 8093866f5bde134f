"""Training modes as strategies: one small fit protocol, a registry by name, quick and full."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import torch

from sorter.core.errors import SorterError
from sorter.core.jobs import CancelToken, ProgressCallback
from sorter.core.model.meta import IMAGENET, Preprocessing
from sorter.core.model.networks import BODY_FEATURES
from sorter.core.training import quick as train_quick
from sorter.core.training.backbone import pretrained_body
from sorter.core.training.data import Split, TrainData, TrainOutcome, check, split_data, without
from sorter.core.training.full import train_full

if TYPE_CHECKING:
    from sorter.core.training.options import TrainOptions

log = logging.getLogger(__name__)

JobT = TypeVar("JobT", contravariant=True)
ResultT = TypeVar("ResultT", covariant=True)


class Fitter(Protocol[JobT, ResultT]):
    """A training mode: fits a network to one job and hands back what it made.

    `train` and `retrain` each keep their fitters in a `Modes` registry and pick one by name,
    once; nothing after that asks which mode is running.
    """

    name: str

    def fit(self, job: JobT, *, progress: ProgressCallback, cancel: CancelToken | None) -> ResultT:
        """Raises Cancelled when `cancel` is triggered; SorterError for unusable data."""
        ...


FitterT = TypeVar("FitterT", bound=Fitter[Any, Any])


class Modes(Generic[FitterT]):
    """Fitters by name: the one place a mode's name becomes its code."""

    def __init__(
        self, *fitters: FitterT, what: str = "training", error: type[SorterError] = SorterError
    ) -> None:
        self._fitters = {fitter.name: fitter for fitter in fitters}
        self._what, self._error = what, error

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._fitters)

    def get(self, name: str) -> FitterT:
        """The fitter called `name`; raises the registry's error (a SorterError) for others."""
        if name not in self._fitters:
            choices = " or ".join(self.names)
            raise self._error(f"Unknown {self._what} mode {name!r}; choose {choices}.")
        return self._fitters[name]


@dataclass(frozen=True)
class TrainJob:
    """What `train` hands a training mode."""

    data: TrainData
    options: TrainOptions
    weights: Path | None  # local ImageNet weights for options.arch; None when none are installed
    device: torch.device
    exclusive: bool = False  # train a single-label model (softmax), else multi-label (sigmoid)


class TrainMode(Fitter[TrainJob, TrainOutcome], Protocol):
    """A mode of `train`: it also says how many epochs it runs when not told."""

    default_epochs: int


class QuickMode:
    """Pooled features of a frozen pretrained body, computed once; fastai's head trains on them."""

    name = "quick"
    default_epochs = 40

    def fit(
        self, job: TrainJob, *, progress: ProgressCallback, cancel: CancelToken | None
    ) -> TrainOutcome:
        """Raises SorterError when no pretrained weights are installed for the arch."""
        options = job.options
        body = pretrained_body(options.arch, _required_weights(options.arch, job.weights))
        pre = Preprocessing(options.input_size, "crop", IMAGENET)
        started = time.perf_counter()
        data, split, sets = _quick_features(job, body, pre, progress, cancel)
        feature_seconds = time.perf_counter() - started
        result = train_quick.train_head(
            *sets,
            n_features=BODY_FEATURES[options.arch],
            settings=train_quick.kind_settings(job.exclusive, epochs=options.epoch_count),
            seed=options.seed,
            progress=progress,
            cancel=cancel,
        )
        scores = train_quick.head_scores(result.head, sets[2], job.exclusive).numpy()
        head_seconds = time.perf_counter() - started - feature_seconds
        state_dict = train_quick.assemble(options.arch, body, result.head)
        epochs, history = len(result.history), result.history
        kept = "kept the last epoch; lowest" if job.exclusive else "best"
        note = (
            f"Features of {len(data.items)} images in {feature_seconds:.1f} s; head trained in "
            f"{head_seconds:.1f} s ({kept} validation loss at epoch {result.best_epoch} of "
            f"{epochs})."
        )
        return TrainOutcome(
            data, split, state_dict, pre, scores, epochs, history, [note], job.exclusive
        )


def _required_weights(arch: str, weights: Path | None) -> Path:
    if weights is None:
        raise SorterError(
            f"Quick training needs pretrained ImageNet weights for {arch}, and none are "
            f"installed; use --arch mobilenet_v2, or --mode full to train {arch} from "
            "scratch (slow, needs many images)."
        )
    return weights


def _quick_features(
    job: TrainJob,
    body: torch.nn.Module,
    pre: Preprocessing,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[TrainData, Split, tuple[torch.Tensor, ...]]:
    """(data without unreadable images, split, (x_train, y_train, x_valid, y_valid)).

    With options.mirror the training part gets each image's mirror image too.
    """
    data, options = job.data, job.options
    extract = partial(
        train_quick.extract_features,
        body=body,
        pre=pre,
        device=job.device,
        batch_size=options.batch_size,
        progress=progress,
        cancel=cancel,
    )
    features, bad = extract([item.path for item in data.items])
    if bad:
        data = without(data, bad)
        check(data)
    split = split_data(data, options.valid_pct, options.seed, options.group)
    y = torch.from_numpy(data.targets())
    x_train, y_train = features[split.train], y[split.train]
    if options.mirror:
        mirrored, _ = extract([data.items[i].path for i in split.train], mirror=True)
        x_train, y_train = torch.cat([x_train, mirrored]), torch.cat([y_train, y_train])
    return data, split, (x_train, y_train, features[split.valid], y[split.valid])


class FullMode:
    """fastai fine-tuning of the whole network; from scratch when no weights are installed."""

    name = "full"
    default_epochs = 4

    def fit(
        self, job: TrainJob, *, progress: ProgressCallback, cancel: CancelToken | None
    ) -> TrainOutcome:
        return train_full(
            job.data, job.options, job.weights, job.device, exclusive=job.exclusive,
            progress=progress, cancel=cancel,
        )  # fmt: skip


TRAIN_MODES: Modes[TrainMode] = Modes(QuickMode(), FullMode())
