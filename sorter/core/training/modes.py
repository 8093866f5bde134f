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
from sorter.core.training import crossval
from sorter.core.training import quick as train_quick
from sorter.core.training.backbone import pretrained_body
from sorter.core.training.data import (
    Split,
    TrainData,
    TrainOutcome,
    check,
    group_keys,
    split_data,
    without,
)
from sorter.core.training.full import train_full
from sorter.core.training.probe import fits_fastai_head, probe_head

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
    """Pooled features of a frozen pretrained body, computed once; a linear probe learns them.

    Cross-validation on the cached features chooses the probe's regularisation and scores every
    image out of fold (the scores thresholds are chosen from); the probe kept is fitted on every
    image and written into fastai's head layout (probe.probe_head). A model of more categories
    than that layout holds a probe for trains fastai's own head on an 80/20 split instead.
    """

    name = "quick"
    default_epochs = 40  # the fallback head's; the probe solves to convergence

    def fit(
        self, job: TrainJob, *, progress: ProgressCallback, cancel: CancelToken | None
    ) -> TrainOutcome:
        """Raises SorterError when no pretrained weights are installed for the arch."""
        options = job.options
        body = pretrained_body(options.arch, _required_weights(options.arch, job.weights))
        pre = Preprocessing(options.input_size, "crop", IMAGENET)
        started = time.perf_counter()
        data, features, mirrored = _quick_features(job, body, pre, progress, cancel)
        seconds = time.perf_counter() - started
        if not fits_fastai_head(len(data.categories)):
            cached = (data, features, mirrored)
            return _fit_mlp_head(job, body, pre, cached, seconds, progress, cancel)
        cv, final = crossval.fit_cross_validated(
            features, torch.from_numpy(data.targets()), exclusive=job.exclusive,
            seed=options.seed, keys=group_keys(data, options.group), mirrored=mirrored,
            progress=progress, cancel=cancel,
        )  # fmt: skip
        head = probe_head(final, BODY_FEATURES[options.arch])
        state_dict = train_quick.assemble(options.arch, body, head)
        everything = list(range(len(data.items)))
        split = Split(everything, everything, crossval.few_image_warnings(data.counts()))
        note = (
            f"Features of {len(data.items)} images in {seconds:.1f} s; {cv.k}-fold "
            f"cross-validation chose L2 {cv.l2:g}; the probe kept learned from every image "
            f"({time.perf_counter() - started - seconds:.1f} s)."
        )
        history = [{"l2": l2, "cv_loss": loss} for l2, loss in cv.losses.items()]
        return TrainOutcome(
            data, split, state_dict, pre, cv.scores, 0, history, [note], job.exclusive, cv
        )


def _fit_mlp_head(
    job: TrainJob,
    body: torch.nn.Module,
    pre: Preprocessing,
    cached: tuple[TrainData, torch.Tensor, torch.Tensor | None],
    feature_seconds: float,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> TrainOutcome:
    """fastai's two-layer head on an 80/20 split: for more categories than a probe fits."""
    options = job.options
    data, features, mirrored = cached
    split = split_data(data, options.valid_pct, options.seed, options.group)
    y = torch.from_numpy(data.targets())
    x_train, y_train = crossval.with_mirrored(features, y, split.train, mirrored)
    started = time.perf_counter()
    result = train_quick.train_head(
        x_train, y_train, features[split.valid], y[split.valid],
        n_features=BODY_FEATURES[options.arch],
        settings=train_quick.kind_settings(job.exclusive, epochs=options.epoch_count),
        seed=options.seed, progress=progress, cancel=cancel,
    )  # fmt: skip
    scores = train_quick.head_scores(result.head, features[split.valid], job.exclusive).numpy()
    state_dict = train_quick.assemble(options.arch, body, result.head)
    kept = "kept the last epoch; lowest" if job.exclusive else "best"
    note = (
        f"Features of {len(data.items)} images in {feature_seconds:.1f} s; head trained in "
        f"{time.perf_counter() - started:.1f} s ({kept} validation loss at epoch "
        f"{result.best_epoch} of {len(result.history)})."
    )
    return TrainOutcome(
        data, split, state_dict, pre, scores, len(result.history), result.history, [note],
        job.exclusive,
    )  # fmt: skip


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
) -> tuple[TrainData, torch.Tensor, torch.Tensor | None]:
    """(data without unreadable images, the features of its images, and with options.mirror
    the features of each image mirrored, in the same order; else None)."""
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
    mirrored = None
    if options.mirror:
        mirrored, _ = extract([item.path for item in data.items], mirror=True)
    return data, features, mirrored


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
