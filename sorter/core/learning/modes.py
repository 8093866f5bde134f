"""Retrain modes: what a mode is given (RetrainJob) and hands back (RetrainFit); quick and full."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from sorter.core.jobs import CancelToken, ProgressCallback
from sorter.core.learning.data import RetrainData, RetrainError
from sorter.core.learning.evaluate import CandidateScores
from sorter.core.learning.full import FullFit, full_fit
from sorter.core.learning.quick import FOLDS, QuickFit, quick_fit
from sorter.core.learning.versions import version_name_of
from sorter.core.model.meta import ModelMeta
from sorter.core.training.modes import Fitter, Modes


@dataclass(frozen=True)
class RetrainJob:
    """What `prepare` hands a retrain mode: the gathered data and the model it starts from."""

    data: RetrainData
    base_meta: ModelMeta
    base_state: dict[str, torch.Tensor]
    base_path: Path
    workdir: Path  # a temporary folder that lives as long as the job
    device: torch.device
    seed: int = 42
    folds: int | None = None  # quick mode's cross-validation folds; None: its default


class RetrainFit(Protocol):
    """What `prepare` needs from a retrain mode's result, whatever the mode."""

    @property
    def state_dict(self) -> dict[str, Any]: ...

    @property
    def meta(self) -> ModelMeta: ...

    @property
    def scores(self) -> CandidateScores: ...

    @property
    def notes(self) -> list[str]: ...

    @property
    def untaught(self) -> Set[int]:
        """The corrections the candidate did not learn from: they stay pending."""
        ...

    @property
    def remembers_base(self) -> bool:
        """True when the base model's head was the start, so unseen categories are not lost."""
        ...


RetrainMode = Fitter[RetrainJob, RetrainFit]


class QuickRetrain:
    """Heads trained on features of the base model's own body, judged by cross-validation."""

    name = "quick"

    def fit(
        self, job: RetrainJob, *, progress: ProgressCallback, cancel: CancelToken | None
    ) -> QuickFit:
        return quick_fit(
            job.data, job.base_meta, job.base_state, job.device, job.base_path,
            seed=job.seed, folds=job.folds or FOLDS, progress=progress, cancel=cancel,
        )  # fmt: skip


class FullRetrain:
    """The training module's full mode on the original data plus corrections; some held out."""

    name = "full"

    def fit(
        self, job: RetrainJob, *, progress: ProgressCallback, cancel: CancelToken | None
    ) -> FullFit:
        return full_fit(
            job.data, job.base_meta, job.workdir, job.device, version_name_of(job.base_path),
            seed=job.seed, progress=progress, cancel=cancel,
        )  # fmt: skip


RETRAIN_MODES: Modes[RetrainMode] = Modes(
    QuickRetrain(), FullRetrain(), what="retrain", error=RetrainError
)
