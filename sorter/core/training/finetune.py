"""Full training's two safeguards: start from quick mode's trained head, keep the best epoch."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sorter.core.jobs import CancelToken, ProgressCallback, no_progress
from sorter.core.model.meta import IMAGENET, Preprocessing
from sorter.core.model.networks import BODY_FEATURES
from sorter.core.training import crossval
from sorter.core.training import quick as train_quick
from sorter.core.training.backbone import pretrained_body
from sorter.core.training.data import Split, TrainData, TrainingDataError, group_keys
from sorter.core.training.probe import fits_fastai_head, probe_head

log = logging.getLogger(__name__)


def quick_head(
    data: TrainData,
    split: Split,
    arch: str,
    weights: Path,
    input_size: int,
    device: torch.device,
    *,
    seed: int,
    exclusive: bool = False,
    group: str | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> nn.Sequential:
    """fastai's head holding quick mode's probe, fitted on frozen features of the training part
    with the L2 cross-validation chooses there (`exclusive`: softmax, for a single-label model;
    `group`: --group's regex, so images of one group share a fold, as in quick mode).
    With more categories than the layout holds a probe for, fastai's head trained as before.

    Fine-tuning a whole network from a random head first spends its few steps (ten an epoch on
    300 images) repairing the head; starting from a trained one ("linear probe, then fine-tune")
    leaves them for the body, and quick mode's result is where full mode begins.
    """
    pre = Preprocessing(input_size, "crop", IMAGENET)
    body = pretrained_body(arch, weights)
    paths = [item.path for item in data.items]
    features, bad = train_quick.extract_features(
        paths, body, pre, device, progress=progress, cancel=cancel
    )
    if bad:  # the caller already dropped unreadable images; a file changed in between
        names = ", ".join(str(p) for p in list(bad)[:3])
        raise TrainingDataError(
            f"{len(bad)} image(s) became unreadable while training ({names}); run it again."
        )
    y = torch.from_numpy(data.targets())
    x_train, y_train = features[split.train], y[split.train]
    if not fits_fastai_head(y.shape[1]):
        result = train_quick.train_head(
            x_train, y_train, features[split.valid], y[split.valid],
            n_features=BODY_FEATURES[arch], settings=train_quick.kind_settings(exclusive),
            seed=seed, progress=progress, cancel=cancel,
        )  # fmt: skip
        return result.head
    keys = group_keys(data, group)
    _, probe = crossval.fit_cross_validated(
        x_train, y_train, exclusive=exclusive, seed=seed, keys=[keys[i] for i in split.train],
        progress=progress, cancel=cancel,
    )  # fmt: skip
    return probe_head(probe, BODY_FEATURES[arch])


def keep_best_callback(learn: Any) -> Any:
    """A fastai callback that remembers the weights with the lowest validation loss.

    Candidates are the weights when training starts (`start()`), then every epoch of every fit
    (the frozen one and the unfrozen ones); `restore()` puts the best back. More epochs can
    therefore never end worse on the validation set than fewer, nor worse than where they began.
    Weights are kept in memory: no file is written or read back.
    """
    from fastai.callback.tracker import TrackerCallback

    class KeepBest(TrackerCallback):
        """Tracks valid_loss across fits (reset_on_fit=False); see keep_best_callback."""

        def __init__(self) -> None:
            super().__init__(monitor="valid_loss", reset_on_fit=False)
            self.state: dict[str, torch.Tensor] | None = None
            self.epochs_seen = 0
            self.best_epoch: int | None = None  # 0: the starting weights
            self.start_loss = float("nan")

        def start(self) -> None:
            loss = validation_loss(self.learn)
            self.best, self.state, self.best_epoch = loss, _snapshot(self.learn.model), 0
            self.start_loss = loss

        def after_epoch(self) -> None:
            super().after_epoch()
            self.epochs_seen += 1
            if self.new_best:
                self.state, self.best_epoch = _snapshot(self.learn.model), self.epochs_seen

        def restore(self) -> None:
            if self.state is not None:
                self.learn.model.load_state_dict(self.state)

    best = KeepBest()
    learn.add_cb(best)
    return best


def validation_loss(learn: Any) -> float:
    """The loss on the validation set as fastai's Recorder averages it (per image).

    Not `learn.validate()`: that runs every callback's fit and epoch events as if it were one.
    """
    model = learn.model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in learn.dls.valid:
            total += float(learn.loss_func(model(xb), yb)) * len(yb)
            count += len(yb)
    return total / max(1, count)


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
