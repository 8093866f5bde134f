"""Bench experiment (bench/head_variants.py): MobileNetV2's last blocks tuned on cached maps."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from sorter.core.errors import ImageError
from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress
from sorter.core.model.decode import open_image
from sorter.core.model.fold_bn import fold_batchnorm
from sorter.core.model.meta import Preprocessing
from sorter.core.model.networks import BODY_FEATURES, fastai_head
from sorter.core.model.predict import to_uint8_tensor
from sorter.core.training.quick import _normalize as normalize_pixels

log = logging.getLogger(__name__)

# MobileNetV2's body[0] (torchvision's `features`) has blocks 0..18: 17 is the last inverted
# residual (160 -> 320 channels), 18 the 1x1 convolution to 1280. The maps entering block 17 are
# 160 x 7 x 7 at 224 px: 16 KB each in float16, and both blocks run on them in about 1 ms.
TAIL_START = 17
ZOOM = 8 / 7  # shifted crops: the image resized this much larger, cropped at its four corners


def _plain(img: Image.Image, pre: Preprocessing) -> torch.Tensor:
    return to_uint8_tensor(img, pre)


def _mirror(img: Image.Image, pre: Preprocessing) -> torch.Tensor:
    return to_uint8_tensor(img, pre).flip(-1)


def _corner(row: int, col: int) -> Callable[[Image.Image, Preprocessing], torch.Tensor]:
    def crop(img: Image.Image, pre: Preprocessing) -> torch.Tensor:
        size = pre.input_size
        big = Preprocessing(round(size * ZOOM), pre.resize_method, pre.normalize, pre.pad_mode)
        pixels = to_uint8_tensor(img, big)
        top, left = row * (big.input_size - size), col * (big.input_size - size)
        return pixels[:, top : top + size, left : left + size]

    return crop


# The views of an image cache_maps can compute: as sorting sees it, mirrored, and zoomed crops.
VIEWS: dict[str, Callable[[Image.Image, Preprocessing], torch.Tensor]] = {
    "plain": _plain,
    "mirror": _mirror,
    **{f"zoom{r}{c}": _corner(r, c) for r in (0, 1) for c in (0, 1)},
}


def split_body(body: nn.Sequential, start: int = TAIL_START) -> tuple[nn.Sequential, nn.Sequential]:
    """(stem, tail) of a fastai-layout MobileNetV2 body: blocks before `start`, and the rest.

    Both share the body's modules; stem(x) then tail(...) is body(x).
    """
    features = body[0]
    return nn.Sequential(*features[:start]), nn.Sequential(*features[start:])


def _decode_views(
    path: Path, pre: Preprocessing, views: Sequence[str]
) -> tuple[torch.Tensor | None, str | None]:
    try:
        img = open_image(path, size_hint=pre.input_size)  # as sorting decodes it
        return torch.stack([VIEWS[v](img, pre) for v in views]), None
    except ImageError as exc:
        return None, str(exc)
    except Exception as exc:  # one odd file must not stop training on the others
        log.warning("Unexpected failure decoding %s", path, exc_info=True)
        return None, f"could not be read ({type(exc).__name__}: {exc})"


def cache_maps(
    paths: Sequence[Path],
    body: nn.Sequential,
    pre: Preprocessing,
    device: torch.device,
    *,
    views: Sequence[str] = ("plain", "mirror"),
    start: int = TAIL_START,
    batch_size: int = 16,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[torch.Tensor, dict[Path, str]]:
    """The feature maps entering block `start` of every readable image, one per view.

    Returns (float16 maps (N_readable, len(views), C, H, W) on the CPU in input order,
    {path: why unreadable}).
    """
    stem = fold_batchnorm(split_body(body, start)[0].eval()).to(device)
    meter = RateMeter("Reading images", len(paths))
    rows: list[torch.Tensor] = []
    bad: dict[Path, str] = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as workers:
        for first in range(0, len(paths), batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            chunk = paths[first : first + batch_size]
            decoded = list(workers.map(lambda p: _decode_views(p, pre, views), chunk))
            bad.update({p: e for p, (t, e) in zip(chunk, decoded, strict=True) if t is None})
            good = [t for t, _ in decoded if t is not None]
            if good:
                pixels = torch.cat(good)  # image-major: views of one image side by side
                with torch.inference_mode():
                    maps = stem(normalize_pixels(pixels, pre, device)).half().cpu()
                rows.append(maps.view(len(good), len(views), *maps.shape[1:]))
            progress(meter.report(min(len(paths), first + batch_size)))
    maps = torch.cat(rows) if rows else torch.zeros(0, len(views), 0, 0, 0, dtype=torch.half)
    return maps, bad


@dataclass
class BlockSettings:
    """How the last blocks and a linear head train on cached maps."""

    epochs: int = 8
    lr: float = 3e-4  # Adam, constant: the blocks start pretrained and the head from a probe
    batch_size: int = 32
    # L2 toward the pretrained weights ("L2-SP"): 60 images must not drag 880k weights far.
    pretrained_decay: float = 0.01
    # L2 on the head's weights, in units of the mean per-image loss; None: 5-fold CV picks one.
    head_decay: float | None = None
    head_decays: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
    tune_from: int = 0  # the first tail block that trains (0: all of them; 1: block 18 only)


@dataclass
class LinearHead:
    """logits = ((features - mean) / std) @ weight.T + bias, on max+avg pooled features."""

    mean: torch.Tensor
    std: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return ((features - self.mean) / self.std) @ self.weight.T + self.bias


def pooled(tail: nn.Module, maps: torch.Tensor) -> torch.Tensor:
    """Max+avg pooled features (fastai's order) of maps (N, C, H, W) through the tail."""
    out = tail(maps.float())
    return torch.cat([out.amax(dim=(2, 3)), out.mean(dim=(2, 3))], dim=1)


def multi_hot(y: torch.Tensor, n_out: int) -> torch.Tensor:
    """Class indices (N,) -> 0/1 rows; 0/1 rows pass through as float."""
    return nn.functional.one_hot(y, n_out).float() if y.dim() == 1 else y.float()


def _loss(logits: torch.Tensor, y: torch.Tensor, exclusive: bool) -> torch.Tensor:
    if exclusive:
        target = y / y.sum(dim=1, keepdim=True).clamp_min(1e-12)
        return nn.functional.cross_entropy(logits, target)
    return nn.functional.binary_cross_entropy_with_logits(logits, y)


def fit_linear(
    x: torch.Tensor,
    y: torch.Tensor,
    exclusive: bool,
    decay: float,
    iters: int = 100,
    standardize: bool = True,
) -> LinearHead:
    """A linear head on standardised features by full-batch L-BFGS: loss + decay/2 * |W|^2."""
    mean, std = x.mean(0), x.std(0).clamp_min(1e-3)
    if not standardize:
        mean, std = torch.zeros_like(mean), torch.ones_like(std)
    z = (x - mean) / std
    w = torch.zeros(y.shape[1], x.shape[1] + 1, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w], lr=1, max_iter=iters, history_size=10, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (
            _loss(z @ w[:, :-1].T + w[:, -1], y, exclusive) + 0.5 * decay * w[:, :-1].square().sum()
        )
        loss.backward()
        return loss

    opt.step(closure)
    w = w.detach()
    return LinearHead(mean, std, w[:, :-1].clone(), w[:, -1].clone())


def fold_ids(y: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """A fold number per image, stratified by its first label so each fold sees every category."""
    generator = torch.Generator().manual_seed(seed)
    first = y.argmax(dim=1)
    folds = torch.zeros(len(y), dtype=torch.long)
    for label in first.unique():
        rows = (first == label).nonzero().flatten()
        rows = rows[torch.randperm(len(rows), generator=generator)]
        folds[rows] = torch.arange(len(rows)) % k
    return folds


def choose_decay(
    features: torch.Tensor,
    y: torch.Tensor,
    exclusive: bool,
    decays: Sequence[float],
    seed: int,
    k: int = 5,
    standardize: bool = True,
) -> float:
    """The head decay with the lowest k-fold held-out loss on the first view of each image.

    features: (N, V, F), every view of an image held out with it.
    """
    folds = fold_ids(y, k, seed)
    views = features.shape[1]
    losses = []
    for decay in decays:
        total = 0.0
        for fold in range(k):
            keep, out = folds != fold, folds == fold
            fit_x = features[keep].flatten(0, 1)
            head = fit_linear(
                fit_x,
                y[keep].repeat_interleave(views, 0),
                exclusive,
                decay,
                standardize=standardize,
            )
            total += float(_loss(head.logits(features[out, 0]), y[out], exclusive)) * int(out.sum())
        losses.append(total)
    best = decays[min(range(len(decays)), key=losses.__getitem__)]
    log.info("Head decay %s chosen by %d-fold CV (losses %s)", best, k, losses)
    return best


def _tune(
    tail: nn.Sequential,
    head: LinearHead,
    maps: torch.Tensor,
    y: torch.Tensor,
    exclusive: bool,
    settings: BlockSettings,
    decay: float,
    seed: int,
    cancel: CancelToken | None,
) -> LinearHead:
    frozen, tuned = tail[: settings.tune_from], tail[settings.tune_from :]
    with torch.no_grad():
        x = frozen(maps.flatten(0, 1).float())
    y = y.repeat_interleave(maps.shape[1], 0)
    weight = head.weight.clone().requires_grad_()
    bias = head.bias.clone().requires_grad_()
    params = [p for p in tuned.parameters() if p.requires_grad]
    start = [p.detach().clone() for p in params]
    optimizer = torch.optim.Adam([*params, weight, bias], lr=settings.lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(settings.epochs):
        order = torch.randperm(len(x), generator=generator)
        for first in range(0, len(x), settings.batch_size):
            if cancel is not None:
                cancel.raise_if_cancelled()
            rows = order[first : first + settings.batch_size]
            now = LinearHead(head.mean, head.std, weight, bias)
            loss = _loss(now.logits(pooled(tuned, x[rows])), y[rows], exclusive)
            loss = loss + 0.5 * decay * weight.square().sum()
            drift = sum((p - p0).square().sum() for p, p0 in zip(params, start, strict=True))
            loss = loss + 0.5 * settings.pretrained_decay * drift
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return LinearHead(head.mean, head.std, weight.detach(), bias.detach())


@dataclass
class BlocksResult:
    """The body with its last blocks fine-tuned, and the linear head as fastai's head modules."""

    body: nn.Sequential
    head: nn.Sequential
    linear: LinearHead
    head_decay: float


def fit_blocks(
    maps: torch.Tensor,
    y: torch.Tensor,
    *,
    body: nn.Sequential,
    exclusive: bool,
    settings: BlockSettings,
    seed: int,
    start: int = TAIL_START,
    cancel: CancelToken | None = None,
) -> BlocksResult:
    """Fit a linear probe on the pooled tail features, then fine-tune tail and probe together.

    maps: cache_maps' (N, V, C, H, W) maps entering block `start` (every view a training row);
    y: class indices (N,) or 0/1 rows (N, K). The caller's body is left as it was. BatchNorm keeps
    its pretrained statistics (eval mode): 60 images cannot estimate new ones.
    """
    torch.manual_seed(seed)
    body = copy.deepcopy(body).eval()
    tail = split_body(body, start)[1]
    y = multi_hot(y, int(y.max()) + 1) if y.dim() == 1 else y.float()
    with torch.no_grad():
        features = torch.stack([pooled(tail, maps[:, v]) for v in range(maps.shape[1])], dim=1)
    decay = settings.head_decay
    if decay is None:
        decay = choose_decay(features, y, exclusive, settings.head_decays, seed)
    linear = fit_linear(
        features.flatten(0, 1), y.repeat_interleave(maps.shape[1], 0), exclusive, decay
    )
    if settings.epochs:
        linear = _tune(tail, linear, maps, y, exclusive, settings, decay, seed, cancel)
    for p in body.parameters():
        p.requires_grad_(False)
    return BlocksResult(
        body, linear_fastai_head(linear, BODY_FEATURES["mobilenet_v2"]), linear, decay
    )


def linear_fastai_head(linear: LinearHead, n_features: int) -> nn.Sequential:
    """fastai's head modules (networks.fastai_head) computing exactly linear.logits in eval mode.

    BatchNorm1d standardises; hidden units carry +z and -z (ReLU(z) - ReLU(-z) = z) and one
    constant unit the bias, so up to 255 categories fit the 512 hidden units.
    """
    n_out = linear.weight.shape[0]
    if 2 * n_out + 1 > 512:
        raise ValueError(f"{n_out} categories do not fit a linear fastai head (255 at most)")
    head = fastai_head(n_features, n_out)
    bn1, first, bn2, last = head[2], head[4], head[6], head[8]
    with torch.no_grad():
        var = linear.std.square()
        bn1.running_mean.copy_(linear.mean)
        bn1.running_var.copy_(var)
        bn1.weight.copy_((var + bn1.eps).sqrt() / linear.std)
        bn1.bias.zero_()
        first.weight.zero_()
        first.weight[:n_out] = linear.weight
        first.weight[n_out : 2 * n_out] = -linear.weight
        bn2.running_mean.zero_()
        bn2.running_var.fill_(1.0 - bn2.eps)
        bn2.weight.fill_(1.0)
        bn2.bias.zero_()
        bn2.bias[2 * n_out] = 1.0  # the constant unit: ReLU gives 0, BatchNorm's bias 1
        last.weight.zero_()
        last.weight[:, :n_out] = torch.eye(n_out)
        last.weight[:, n_out : 2 * n_out] = -torch.eye(n_out)
        last.weight[:, 2 * n_out] = linear.bias
    return head.eval()
