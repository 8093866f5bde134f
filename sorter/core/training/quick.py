"""Quick training: pooled features of a frozen pretrained body, computed once; the head trains."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sorter.core.errors import ImageError
from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress
from sorter.core.model.cpu_forward import chunked, cpu_forward_pool
from sorter.core.model.decode import open_image
from sorter.core.model.fold_bn import fold_batchnorm
from sorter.core.model.meta import Preprocessing
from sorter.core.model.networks import (
    AdaptiveConcatPool2d,
    fastai_head,
    fastai_network,
)
from sorter.core.model.predict import to_uint8_tensor

log = logging.getLogger(__name__)


@dataclass
class HeadSettings:
    """How the head trains on cached features."""

    epochs: int = 40
    lr: float = 3e-3
    weight_decay: float = 0.01
    batch_size: int = 32
    patience: int = 10  # epochs without a better validation loss before stopping
    # Mixup on features: each batch is blended with a shuffled copy of itself, labels alike, with
    # a Beta(mixup, mixup) weight; 0 turns it off.
    mixup: float = 0.0
    # A single-label head: softmax cross-entropy over the categories instead of one sigmoid
    # (binary cross-entropy) per category; see head_loss.
    exclusive: bool = False
    # The weights kept: "best", the epoch with the lowest validation loss (stopping after
    # `patience` epochs without a better one), or "last", every epoch of the one-cycle schedule
    # as fastai's fit_one_cycle runs it.
    keep: str = "best"


def kind_settings(exclusive: bool, **more: Any) -> HeadSettings:
    """HeadSettings for a head of one kind: single-label heads train with softmax
    cross-entropy and keep their last epoch, multi-label ones with BCE and their best.

    Why the last: on a small validation set a softmax's validation cross-entropy rises as soon
    as the head grows confident, while its accuracy still improves, so the lowest-loss epoch is
    an undertrained head (often epoch 1). On bench/train_quality.py's folder sets (6 categories,
    10 images each, 15 draws, 705 test images) top-1 was 0.58 keeping the lowest validation
    loss and 0.66 keeping the last epoch.
    """
    return HeadSettings(exclusive=exclusive, keep="last" if exclusive else "best", **more)


@dataclass
class HeadResult:
    """The trained head (all of fastai's head modules) and what happened per epoch."""

    head: nn.Sequential
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0


def _decode(
    path: Path, pre: Preprocessing, mirror: bool = False
) -> tuple[torch.Tensor | None, str | None]:
    try:
        img = open_image(path, size_hint=pre.input_size)
        pixels = to_uint8_tensor(img, pre)
        return (pixels.flip(-1) if mirror else pixels), None
    except ImageError as exc:
        return None, str(exc)
    except Exception as exc:  # one odd file must not stop training on the others
        log.warning("Unexpected failure decoding %s", path, exc_info=True)
        return None, f"could not be read ({type(exc).__name__}: {exc})"


def _normalize(batch: torch.Tensor, pre: Preprocessing, device: torch.device) -> torch.Tensor:
    x = batch.to(device).float().div_(255.0)
    norm = pre.normalize
    if norm:
        mean = torch.tensor(norm.mean, device=device).view(1, 3, 1, 1)
        std = torch.tensor(norm.std, device=device).view(1, 3, 1, 1)
        x = (x - mean) / std
    return x


def extract_features(
    paths: Sequence[Path],
    body: nn.Module,
    pre: Preprocessing,
    device: torch.device,
    *,
    batch_size: int = 32,
    mirror: bool = False,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[torch.Tensor, dict[Path, str]]:
    """Pooled body features of every readable image, preprocessed exactly as inference does.

    `mirror` flips each image left to right first: cheap extra training examples. Threads decode
    the next batch while the network runs on this one (on the CPU in small chunks, one per core).

    Returns (features (N_readable, 2 * channels) on CPU in input order, {path: why unreadable}).
    """
    body = fold_batchnorm(body.eval()).to(device)  # a scoring copy; the caller's body is kept
    pool = AdaptiveConcatPool2d()
    cuda = device.type == "cuda"

    def features_of(pixels: torch.Tensor) -> torch.Tensor:
        x = _normalize(pixels, pre, device)
        with torch.inference_mode(), torch.autocast("cuda", torch.float16, enabled=cuda):
            return pool(body(x)).flatten(1).float().cpu()

    meter = RateMeter("Reading mirrored images" if mirror else "Reading images", len(paths))
    progress(meter.report(0))  # the first batch takes a while: say what is under way
    rows: list[torch.Tensor] = []
    bad: dict[Path, str] = {}
    chunks = [paths[i : i + batch_size] for i in range(0, len(paths), batch_size)]
    with ExitStack() as stack:
        workers = stack.enter_context(ThreadPoolExecutor(max_workers=os.cpu_count() or 1))
        forward = stack.enter_context(cpu_forward_pool(body)) if not cuda else (None, 1)
        ahead = [workers.submit(_decode, p, pre, mirror) for p in chunks[0]] if chunks else []
        for number, chunk in enumerate(chunks):
            if cancel is not None:
                cancel.raise_if_cancelled()
            decoded = [f.result() for f in ahead]
            if number + 1 < len(chunks):  # decode the next batch while this one runs
                ahead = [workers.submit(_decode, p, pre, mirror) for p in chunks[number + 1]]
            good = [t for t, _ in decoded if t is not None]
            bad.update({p: e for p, (t, e) in zip(chunk, decoded, strict=True) if t is None})
            if good:
                batch = torch.stack(good)
                rows.append(features_of(batch) if cuda else chunked(features_of, batch, *forward))
            progress(meter.report(min(len(paths), (number + 1) * batch_size)))
    features = torch.cat(rows) if rows else torch.zeros(0, 0)  # callers refuse "none readable"
    return features, bad


def label_distribution(y: torch.Tensor) -> torch.Tensor:
    """0/1 label rows as the probabilities a softmax should learn: spread evenly over an
    image's labels, and over every category for an image with none ("not sure which")."""
    total = y.sum(dim=1, keepdim=True)
    uniform = torch.full_like(y, 1.0 / max(1, y.shape[1]))
    return torch.where(total > 0, y / total.clamp_min(1e-12), uniform)


def head_loss(logits: torch.Tensor, y: torch.Tensor, exclusive: bool) -> torch.Tensor:
    """The loss a head trains on: binary cross-entropy of one sigmoid per category
    (multi-label), or softmax cross-entropy against label_distribution(y) (single-label)."""
    if exclusive:
        return nn.functional.cross_entropy(logits.float(), label_distribution(y.float()))
    return nn.functional.binary_cross_entropy_with_logits(logits, y)


def _evaluate(head: nn.Module, x: torch.Tensor, y: torch.Tensor, exclusive: bool) -> float:
    head.eval()
    with torch.no_grad():
        return float(head_loss(head(x), y, exclusive))


def train_head(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_valid: torch.Tensor,
    y_valid: torch.Tensor,
    *,
    n_features: int,
    settings: HeadSettings,
    seed: int,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> HeadResult:
    """Train fastai's head (after its pooling) on features; keep the best validation epoch.

    AdamW with a one-cycle schedule, as fastai's fit_one_cycle would do, on head_loss
    (settings.exclusive: softmax cross-entropy, else BCE on logits).
    """
    with one_cpu_thread():
        return _train_head(
            x_train, y_train, x_valid, y_valid, n_features, settings, seed, progress, cancel
        )


@contextmanager
def one_cpu_thread() -> Iterator[None]:
    """Run torch on one CPU thread: the head's small matrices only lose time to more threads.

    Measured here with two busy cores: 40 epochs of 320 rows took 24 s on one thread, 260 s on two.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train_head(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_valid: torch.Tensor,
    y_valid: torch.Tensor,
    n_features: int,
    settings: HeadSettings,
    seed: int,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> HeadResult:
    torch.manual_seed(seed)
    head = fastai_head(n_features, y_train.shape[1])
    trainable = head[2:]  # pooling and flatten already happened when features were made
    steps = max(1, -(-len(x_train) // settings.batch_size))
    optimizer = torch.optim.AdamW(
        trainable.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=settings.lr, total_steps=settings.epochs * steps
    )
    generator = torch.Generator().manual_seed(seed)
    meter = RateMeter("Training head", settings.epochs, unit="epochs")
    result = HeadResult(head)
    best_loss, best_state, stale = float("inf"), None, 0
    for epoch in range(1, settings.epochs + 1):
        train_loss = _one_epoch(
            trainable, optimizer, schedule, x_train, y_train, settings, generator, cancel
        )
        valid_loss = (
            _evaluate(trainable, x_valid, y_valid, settings.exclusive)
            if len(x_valid)
            else train_loss
        )
        result.history.append({"epoch": epoch, "train_loss": train_loss, "valid_loss": valid_loss})
        progress(meter.report(epoch, f"valid loss {valid_loss:.3f}"))
        if valid_loss < best_loss - 1e-4:
            best_loss, best_state, stale = valid_loss, copy.deepcopy(trainable.state_dict()), 0
            result.best_epoch = epoch
        else:
            stale += 1
            if settings.keep == "best" and len(x_valid) and stale >= settings.patience:
                log.info("Stopping at epoch %d: no better validation loss for %d", epoch, stale)
                # Done early: the bar completes rather than stalling at this epoch.
                note = f"stopped early at epoch {epoch}, best {result.best_epoch}"
                progress(meter.report(settings.epochs, note))
                break
    if best_state is not None and settings.keep == "best":
        trainable.load_state_dict(best_state)
    head.eval()
    return result


def warm_head(
    head: nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    settings: HeadSettings,
    seed: int,
    cancel: CancelToken | None = None,
) -> nn.Sequential:
    """A copy of a trained head fine-tuned gently on new examples.

    AdamW at settings.lr without a schedule, every one of settings.epochs run and the last kept:
    a head that already knows the task needs no warm-up and has no validation set to stop on.
    """
    torch.manual_seed(seed)  # the head's dropout draws from the global generator
    head = copy.deepcopy(head)
    trainable = head[2:]
    optimizer = torch.optim.AdamW(
        trainable.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    generator = torch.Generator().manual_seed(seed)
    for _ in range(settings.epochs):
        _one_epoch(trainable, optimizer, None, x, y, settings, generator, cancel)
    head.eval()
    return head


def _one_epoch(
    trainable: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler | None,
    x: torch.Tensor,
    y: torch.Tensor,
    settings: HeadSettings,
    generator: torch.Generator,
    cancel: CancelToken | None,
) -> float:
    trainable.train()
    order = torch.randperm(len(x), generator=generator)
    total = 0.0
    for start in range(0, len(x), settings.batch_size):
        if cancel is not None:
            cancel.raise_if_cancelled()
        batch = order[start : start + settings.batch_size]
        if len(batch) < 2:  # BatchNorm cannot train on a single row
            continue
        xb, yb = mix(x[batch], y[batch], settings.mixup, generator)
        loss = head_loss(trainable(xb), yb, settings.exclusive)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if schedule is not None:
            schedule.step()
        total += float(loss.detach()) * len(batch)
    return total / max(1, len(x))


def mix(
    x: torch.Tensor, y: torch.Tensor, alpha: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup: x and y blended with a shuffled copy by one Beta(alpha, alpha) weight.

    alpha 0 returns them as they are. Every draw comes from `generator`, so runs repeat.
    """
    if alpha <= 0:
        return x, y
    seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
    lam = float(np.random.default_rng(seed).beta(alpha, alpha))
    perm = torch.randperm(len(x), generator=generator)
    return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]


def head_scores(
    head: nn.Sequential, features: torch.Tensor, exclusive: bool = False
) -> torch.Tensor:
    """The trained head's scores for cached features, as sorting computes them: softmax over
    the categories for a single-label (`exclusive`) head, else one sigmoid each."""
    head.eval()
    with torch.no_grad():
        logits = head[2:](features)
    return torch.softmax(logits, dim=1) if exclusive else torch.sigmoid(logits)


def assemble(arch: str, body: nn.Module, head: nn.Sequential) -> dict[str, torch.Tensor]:
    """The state_dict of networks.fastai_network: the pretrained body plus the trained head."""
    network = fastai_network(arch, head[-1].out_features)
    network[0].load_state_dict(body.state_dict(), strict=True)
    network[1].load_state_dict(head.state_dict(), strict=True)
    return network.state_dict()
