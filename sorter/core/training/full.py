"""Full training: fastai fine-tuning with presizing, augmentation, lr_find, discriminative LRs."""

from __future__ import annotations

import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from sorter.core.errors import ImageError
from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress
from sorter.core.model.decode import open_image
from sorter.core.model.meta import Preprocessing, Stats, trained_meta
from sorter.core.model.modelfile import LoadedModel
from sorter.core.model.networks import fastai_network
from sorter.core.model.predict import score_images
from sorter.core.training.backbone import fastai_local_arch
from sorter.core.training.data import TrainData, TrainItem, TrainOutcome, check, split_data, without
from sorter.core.training.finetune import keep_best_callback, quick_head
from sorter.core.training.quick import head_loss

if TYPE_CHECKING:
    from sorter.core.training.options import TrainOptions

log = logging.getLogger(__name__)

PRESIZE_RATIO = 460 / 224  # fastai's presizing: items resized large, then cropped on the batch
LR_FIND_STEPS = 40
# Below this many training images lr_find's curve is noise; fastai's fine_tune default is used.
LR_FIND_MIN_IMAGES = 100
DEFAULT_LR = 2e-3
LR_MULT = 100  # fine_tune's spread: the earliest layers train at lr / LR_MULT
# lr_find on a few dozen images is noisy; its valley is kept inside the range that fine-tuning
# a pretrained network usually wants.
LR_RANGE = (2e-4, 1e-2)


def find_unreadable(
    data: TrainData,
    size_hint: int,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> dict[Path, str]:
    """{path: reason} for every image that cannot be decoded (fastai would stop on it)."""

    def probe(item: TrainItem) -> str | None:
        try:
            open_image(item.path, size_hint=size_hint)
        except ImageError as exc:
            return str(exc)
        except Exception as exc:  # an odd file must not stop the check
            return f"could not be read ({type(exc).__name__}: {exc})"
        return None

    meter = RateMeter("Checking images", len(data.items))
    bad: dict[Path, str] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as workers:
        for done, (item, reason) in enumerate(
            zip(data.items, workers.map(probe, data.items), strict=True), start=1
        ):
            if cancel is not None:
                cancel.raise_if_cancelled()
            if reason:
                bad[item.path] = reason
            if done % 16 == 0 or done == len(data.items):
                progress(meter.report(done))
    return bad


def _fastai_callback(progress: ProgressCallback, cancel: CancelToken | None) -> Any:
    from fastai.callback.core import Callback, CancelFitException

    class ReportAndCancel(Callback):
        """Reports each batch with an ETA and stops the fit when the token is set."""

        order = 70

        def __init__(self) -> None:
            self.stage = "Training"
            self.history: list[dict[str, Any]] = []

        def before_fit(self) -> None:
            self._check()
            total = self.n_epoch * len(self.dls.train)
            self.meter = RateMeter(self.stage, total, unit="batches")
            self.done = 0

        def after_batch(self) -> None:
            self._check()
            if self.training:
                self.done += 1
                msg = f"epoch {self.epoch + 1}/{self.n_epoch}"
                progress(self.meter.report(self.done, msg))

        def after_epoch(self) -> None:
            if self.stage.startswith("Finding"):
                return  # lr_find's epochs are not training
            names = list(self.recorder.metric_names)[1:-1]  # without "epoch" and "time"
            values = self.recorder.log[1:]
            row: dict[str, Any] = {"stage": self.stage, "epoch": self.epoch + 1}
            row.update({n: float(v) for n, v in zip(names, values, strict=False)})
            log.info("%s", row)
            self.history.append(row)

        def _check(self) -> None:
            if cancel is not None and cancel.cancelled:
                raise CancelFitException()

    return ReportAndCancel()


def _dataloaders(data: TrainData, valid: list[int], options: TrainOptions, device: torch.device):
    from fastai.vision.all import (
        DataBlock,
        ImageBlock,
        IndexSplitter,
        MultiCategoryBlock,
        Resize,
        aug_transforms,
    )

    presize = round(options.input_size * PRESIZE_RATIO)
    block = DataBlock(
        blocks=(ImageBlock, MultiCategoryBlock(vocab=list(data.categories))),
        get_x=lambda item: open_image(item.path, size_hint=presize),  # white behind transparency
        get_y=lambda item: list(item.labels),
        splitter=IndexSplitter(valid),
        item_tfms=Resize(presize),
        batch_tfms=aug_transforms(size=options.input_size, min_scale=0.75),
    )
    n_train = len(data.items) - len(valid)
    batch = max(2, min(options.batch_size, n_train // 2))  # at least two batches an epoch
    return block.dataloaders(data.items, bs=batch, num_workers=0, device=device)


class SoftmaxLoss:
    """fastai's loss for a single-label model: quick mode's head_loss (softmax cross-entropy
    against the labels spread evenly), on the multi-hot targets MultiCategoryBlock gives, so
    both modes train the same kind of model from the same data."""

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        # fastai's typed tensors (TensorImage...) refuse cross_entropy: plain tensors here
        plain = torch.Tensor
        return head_loss(logits.as_subclass(plain), targets.as_subclass(plain), exclusive=True)

    def activation(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits.float(), dim=-1)

    def decodes(self, probabilities: torch.Tensor) -> torch.Tensor:
        return probabilities.argmax(dim=-1)


def top1_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """fastai metric: the share of images whose best category is one of their labels."""
    logits, targets = logits.as_subclass(torch.Tensor), targets.as_subclass(torch.Tensor)
    best = logits.argmax(dim=-1, keepdim=True)
    return targets.float().gather(1, best).clamp(max=1.0).mean()


def _loss_and_metrics(exclusive: bool) -> dict[str, Any]:
    """vision_learner's loss and metrics for the kind: softmax or fastai's default sigmoid BCE."""
    from fastai.vision.all import accuracy_multi

    if exclusive:
        return {"loss_func": SoftmaxLoss(), "metrics": [top1_accuracy]}
    return {"metrics": [accuracy_multi]}


def _normalize_of(dls: Any) -> Stats | None:
    from fastai.vision.all import Normalize

    for tfm in dls.after_batch.fs:
        if isinstance(tfm, Normalize):
            mean, std = tfm.mean.flatten().tolist(), tfm.std.flatten().tolist()
            return Stats((mean[0], mean[1], mean[2]), (std[0], std[1], std[2]))
    return None


def train_full(
    data: TrainData,
    options: TrainOptions,
    weights: Path | None,
    device: torch.device,
    *,
    exclusive: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> TrainOutcome:
    """fine_tune a fastai vision_learner (fit_one_cycle when no pretrained weights exist).

    `exclusive`: a single-label model, trained with softmax cross-entropy (SoftmaxLoss), as
    quick mode trains it; else fastai's multi-label BCE.

    Raises:
        Cancelled: the token was set; nothing is returned to save.
    """
    from fastai.vision.all import vision_learner

    presize = round(options.input_size * PRESIZE_RATIO)
    bad = find_unreadable(data, presize, progress, cancel)
    if bad:
        data = without(data, bad)
        check(data)
    split = split_data(data, options.valid_pct, options.seed, options.group)
    torch.manual_seed(options.seed)
    dls = _dataloaders(data, split.valid, options, device)
    pretrained = weights is not None
    callback = _fastai_callback(progress, cancel)
    with tempfile.TemporaryDirectory(prefix="sorter-train-") as scratch:  # lr_find's temp files
        learn = vision_learner(
            dls,
            fastai_local_arch(options.arch, weights),
            pretrained=pretrained,
            path=scratch,
            **_loss_and_metrics(exclusive),
            cbs=[callback],
        )
        # channels_last is oneDNN's and the tensor cores' fastest layout (on this project's 2-core
        # CPU a MobileNetV2 training step took 58 ms per image instead of 95); fp16 on CUDA.
        learn.to_channelslast(use_amp=device.type == "cuda")
        if pretrained:
            head = quick_head(
                data, split, options.arch, weights, options.input_size, device,
                seed=options.seed, exclusive=exclusive, group=options.group, progress=progress,
                cancel=cancel,
            )  # fmt: skip
            learn.model[1].load_state_dict(head.state_dict())
            learn.unfreeze()  # the head is trained: lr_find and fit see the whole network
        with learn.no_bar(), learn.no_logging():
            lr, lr_note = _learning_rate(learn, callback, cancel)
            best = keep_best_callback(learn) if split.valid else None
            if best is not None:
                best.start()
            _fit(learn, callback, options.epoch_count, lr, pretrained)
        if cancel is not None:
            cancel.raise_if_cancelled()
        if best is not None:
            best.restore()
        history = callback.history
    preprocessing = Preprocessing(options.input_size, "crop", _normalize_of(learn.dls))
    state_dict = _checked_state_dict(learn.model, options.arch, len(data.categories))
    scores = _inference_scores(
        data, split.valid, options, preprocessing, state_dict, device, exclusive
    )
    notes = [lr_note]
    if pretrained:
        notes.append(
            "Started from quick mode's probe, fitted on frozen features of the training part."
        )
    if best is not None:
        notes.append(_kept_note(best))
    if not pretrained:
        notes.append(f"{options.arch} trained from scratch: no pretrained weights are installed.")
    return TrainOutcome(
        data, split, state_dict, preprocessing, scores, options.epoch_count, history, notes,
        exclusive,
    )  # fmt: skip


def _learning_rate(learn: Any, callback: Any, cancel: CancelToken | None) -> tuple[float, str]:
    """The learning rate for fine-tuning, and a note saying where it came from."""
    n_train = len(learn.dls.train_ds)
    if n_train < LR_FIND_MIN_IMAGES:
        why = f"{n_train} training images are too few for lr_find"
        return DEFAULT_LR, f"Learning rate {DEFAULT_LR:.0e}, fastai's default ({why})."
    callback.stage = "Finding learning rate"
    steps = max(10, min(LR_FIND_STEPS, 4 * len(learn.dls.train)))
    try:
        found = float(learn.lr_find(num_it=steps, show_plot=False).valley)
    except Exception as exc:  # a cancelled or diverged search leaves no curve to read
        if cancel is not None:
            cancel.raise_if_cancelled()
        log.warning("lr_find failed (%s); using %s", exc, DEFAULT_LR)
        found = DEFAULT_LR
    if cancel is not None:
        cancel.raise_if_cancelled()
    if not np.isfinite(found):
        found = DEFAULT_LR
    lr = float(min(max(found, LR_RANGE[0]), LR_RANGE[1]))
    return lr, f"Learning rate {lr:.2e} (lr_find valley {found:.2e})."


def _kept_note(best: Any) -> str:
    start = f"validation loss {best.start_loss:.3f} at the start"
    if not best.best_epoch:
        return f"Kept the starting weights ({start}; none of {best.epochs_seen} epochs went lower)."
    return (
        f"Kept the weights after epoch {best.best_epoch} of {best.epochs_seen} (validation loss "
        f"{best.best:.3f}, {start})."
    )


def _fit(learn: Any, callback: Any, epochs: int, lr: float, pretrained: bool) -> None:
    if pretrained:
        # fine_tune's second half: all layers, one-cycle, discriminative learning rates (the
        # earliest layers lr / 100). Its first half, the frozen epochs that train the new head,
        # already happened on cached features (quick_head), many epochs instead of one.
        callback.stage = "Fine-tuning (all layers)"
        learn.fit_one_cycle(epochs, slice(lr / LR_MULT, lr), pct_start=0.3, div=5.0)
    else:
        callback.stage = "Training from scratch"
        learn.fit_one_cycle(epochs, lr)


def _checked_state_dict(model: torch.nn.Module, arch: str, n_out: int) -> dict[str, torch.Tensor]:
    state = {
        k: v.detach().float().cpu() if v.is_floating_point() else v.detach().cpu()
        for k, v in model.state_dict().items()
    }
    fastai_network(arch, n_out).load_state_dict(state, strict=True)  # loads where sorting runs
    return state


def _inference_scores(
    data: TrainData,
    valid: list[int],
    options: TrainOptions,
    preprocessing: Preprocessing,
    state_dict: dict[str, torch.Tensor],
    device: torch.device,
    exclusive: bool,
) -> np.ndarray:
    """Validation scores computed exactly as sorting will compute them (not fastai's pipeline)."""
    meta = trained_meta(
        options.arch, data.categories, preprocessing, exclusive=exclusive,
        default_threshold=options.default_threshold,
    )  # fmt: skip
    network = fastai_network(options.arch, len(data.categories))
    network.load_state_dict(state_dict)
    model = LoadedModel(Path("(training)"), meta, network.eval().to(device), device)
    paths = [data.items[i].path for i in valid]
    rows = [s.scores for s in score_images(model, paths, batch_size=options.batch_size)]
    if any(r is None for r in rows):
        raise ImageError("A validation image became unreadable during training.")
    return np.asarray(rows, dtype=np.float32).reshape(len(paths), len(data.categories))
