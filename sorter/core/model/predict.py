"""Preprocess and score images in batches while threads decode the next ones; writes no file."""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sorter.core.errors import ImageError, ModelFileError
from sorter.core.jobs import CancelToken, ProgressCallback, RateMeter, no_progress
from sorter.core.model.cpu_forward import CPU_CHUNK, chunked, cpu_forward_pool, submit_chunked
from sorter.core.model.decode import open_image
from sorter.core.model.meta import Preprocessing
from sorter.core.model.modelfile import LoadedModel
from sorter.core.model.weights import PICK_ANOTHER

log = logging.getLogger(__name__)

__all__ = [
    "CPU_CHUNK",
    "ScoredImage",
    "open_image",
    "preprocess",
    "resize_like_fastai",
    "score_images",
]


# fastai's PadMode names -> torchvision's padding modes; fastai's Resize default is reflection.
PAD_MODES = {"reflection": "reflect", "zeros": "constant", "border": "edge"}


@dataclass
class ScoredImage:
    """One image's scores in category order, or why it could not be scored."""

    path: Path
    scores: list[float] | None
    error: str | None = None


def resize_like_fastai(
    img: Image.Image, size: int, method: str, pad_mode: str = "reflection"
) -> Image.Image:
    """fastai's Resize(size, method, pad_mode) on a validation image: centred, bilinear."""
    w, h = img.size
    mode = PAD_MODES[pad_mode]
    if method == "squish":
        return _crop_pad(img, (w, h), (0, 0), size, mode)
    # crop keeps the largest centred square-ratio window; pad grows the short side instead.
    fits = (w / size < h / size) if method == "crop" else (w / size > h / size)
    m = w / size if fits else h / size
    cut = (int(m * size), int(m * size))
    top_left = (int(0.5 * (w - cut[0])), int(0.5 * (h - cut[1])))
    return _crop_pad(img, cut, top_left, size, mode)


def _crop_pad(
    img: Image.Image, sz: tuple[int, int], tl: tuple[int, int], size: int, pad_mode: str
) -> Image.Image:
    # Same steps and rounding as fastai's Image._do_crop_pad, so pixels match exactly.
    orig = img.size
    end = (tl[0] + sz[0], tl[1] + sz[1])
    if any(t >= 0 for t in tl) or any(e <= o for e, o in zip(end, orig, strict=True)):
        img = img.crop((max(tl[0], 0), max(tl[1], 0), min(end[0], orig[0]), min(end[1], orig[1])))
    if any(t < 0 for t in tl) or any(e >= o for e, o in zip(end, orig, strict=True)):
        pad = (max(-tl[0], 0), max(-tl[1], 0))
        far = (max(sz[0] - orig[0] + tl[0], 0), max(sz[1] - orig[1] + tl[1], 0))
        if any(pad) or any(far):
            img = _pad(img, pad, far, pad_mode)
    return img.resize((size, size), Image.Resampling.BILINEAR)


def _pad(img: Image.Image, near: tuple[int, int], far: tuple[int, int], mode: str) -> Image.Image:
    # numpy's pad gives the same pixels as torchvision's pad on PIL images (which calls np.pad
    # itself for reflect and edge), without importing torchvision: seconds of start-up.
    array = np.asarray(img)
    widths = [(near[1], far[1]), (near[0], far[0])] + [(0, 0)] * (array.ndim - 2)
    return Image.fromarray(np.pad(array, widths, mode=mode))


def to_uint8_tensor(img: Image.Image, pre: Preprocessing) -> torch.Tensor:
    """Resized CHW uint8 tensor of an RGB image: preprocessing before the float conversion."""
    resized = resize_like_fastai(
        img, pre.input_size, pre.resize_method, pre.pad_mode or "reflection"
    )
    array = np.asarray(resized, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def preprocess(img: Image.Image, pre: Preprocessing) -> torch.Tensor:
    """CHW float tensor exactly as fastai's validation transform: resize, /255, normalise."""
    x = to_uint8_tensor(img, pre).float().div_(255.0)
    norm = pre.normalize
    if norm:
        mean = torch.tensor(norm.mean).view(3, 1, 1)
        std = torch.tensor(norm.std).view(3, 1, 1)
        x = (x - mean) / std
    return x


_Decoded = tuple[Path, torch.Tensor | None, str | None]


def _decode(path: Path, pre: Preprocessing) -> _Decoded:
    try:
        img = open_image(path, size_hint=pre.input_size)
        return path, to_uint8_tensor(img, pre), None
    except ImageError as exc:
        return path, None, str(exc)
    except Exception as exc:  # one odd file must never stop a run of thousands
        log.warning("Unexpected failure decoding %s", path, exc_info=True)
        return path, None, f"could not be read ({type(exc).__name__}: {exc})"


def forward_scores(
    model: LoadedModel,
    batch: torch.Tensor,
    pool: ThreadPoolExecutor | None = None,
    workers: int = 1,
) -> torch.Tensor:
    """Scores of a decoded uint8 NCHW batch: pinned for the GPU, channels_last chunks on the CPU.

    On the CPU, even chunks of at most CPU_CHUNK images run side by side on `pool` when given
    (`workers` = its size).
    """
    if model.device.type == "cuda":
        return model.scores(batch.pin_memory())  # lets the copy to the GPU run asynchronously
    return chunked(model.scores, batch, pool, workers)


@contextmanager
def _cpu_forward_pool(model: LoadedModel) -> Iterator[tuple[ThreadPoolExecutor, int] | None]:
    """On the CPU: (pool, workers) of cpu_forward.cpu_forward_pool for the network; else None."""
    if model.device.type != "cpu":
        yield None
        return
    with cpu_forward_pool(model.scoring_network) as forward:
        yield forward


def _start_batch(
    model: LoadedModel,
    decoded: list[_Decoded],
    forward: tuple[ThreadPoolExecutor, int] | None = None,
) -> Callable[[], list[ScoredImage]]:
    """Start scoring a decoded batch; the returned function waits and gives it in input order.

    With a CPU forward pool the chunks are queued and this returns at once; otherwise the batch
    is scored here (on CUDA the card already runs while the threads decode).
    """
    good = [t for _, t, _ in decoded if t is not None]
    if not good:
        rows: Callable[[], torch.Tensor] = lambda: torch.zeros(0)  # noqa: E731
    elif forward is not None:  # a CPU forward pool
        rows = submit_chunked(model.scores, torch.stack(good), *forward)
    else:
        scored = forward_scores(model, torch.stack(good))
        rows = lambda: scored  # noqa: E731

    def finish() -> list[ScoredImage]:
        values = rows()
        if values.numel() and not bool(torch.isfinite(values).all()):
            _refuse_nonfinite(model, decoded, values)
        found = iter(values.tolist())
        return [
            ScoredImage(path, next(found) if tensor is not None else None, error)
            for path, tensor, error in decoded
        ]

    return finish


def _refuse_nonfinite(model: LoadedModel, decoded: list[_Decoded], values: torch.Tensor) -> None:
    # Sorting on would put every image in "uncertain" (NaN passes no threshold) and call it done.
    scored = [path for path, tensor, _ in decoded if tensor is not None]
    first = scored[int(torch.isfinite(values).all(dim=1).long().argmin())]
    raise ModelFileError(
        f"The model {model.path} gave NaN or infinite scores (first for {first}): it is damaged "
        f"or unusable. {PICK_ANOTHER}"
    )


# Images per batch on the CPU (the network still sees them in chunks of CPU_CHUNK).
CPU_BATCH = 32
# On a GPU the batch is the largest of these whose fp16 forward fits in a quarter of the card's
# free memory, counting GPU_BYTES_PER_PIXEL per input pixel: about 12.8 MB for a 224 px image,
# over twice what MobileNetV2 or ResNet-50 keep alive at once in inference.
GPU_BATCHES = (256, 128, 64, 32)
GPU_BYTES_PER_PIXEL = 256


def auto_batch_size(model: LoadedModel) -> int:
    """The batch size for this model's device: CPU_BATCH, or one chosen for the card's memory."""
    if model.device.type != "cuda":
        return CPU_BATCH
    try:
        free, _total = torch.cuda.mem_get_info(model.device)
    except (RuntimeError, AssertionError) as exc:  # no usable driver after all
        log.info("Could not read the GPU's free memory (%s); batches of %d", exc, CPU_BATCH)
        return CPU_BATCH
    size = model.meta.input_size
    per_image = size * size * GPU_BYTES_PER_PIXEL
    fits = [b for b in GPU_BATCHES if b * per_image <= free // 4]
    return fits[0] if fits else GPU_BATCHES[-1]


def score_images(
    model: LoadedModel,
    paths: Iterable[str | os.PathLike[str]],
    *,
    batch_size: int | None = None,
    threads: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    total: int | None = None,
) -> Iterator[ScoredImage]:
    """Score images in input order, decoding on threads while the network runs.

    `batch_size` None picks one for the device (auto_batch_size). At most about two batches
    are decoded ahead and one more is being scored while the one before it is handed out, so
    memory stays flat for any number of paths. An unreadable image yields scores=None and
    error=<reason>; the run goes on.

    Raises:
        Cancelled: cancel was triggered (checked once per batch; the batch still being scored
            is dropped).
        ModelFileError: the model gave a NaN or infinite score (a broken model: never sorted
            on as if every image were uncertain).
    """
    if total is None and hasattr(paths, "__len__"):
        total = len(paths)  # type: ignore[arg-type]
    batch_size = batch_size or auto_batch_size(model)
    meter = RateMeter("Scoring", total)
    source, pre = iter(paths), model.meta.preprocessing
    lookahead = 2 * batch_size
    pool = ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1)
    pending: deque[Future[_Decoded]] = deque()
    done = 0
    cleanup = ExitStack()
    forward_pool = cleanup.enter_context(_cpu_forward_pool(model))
    in_flight: Callable[[], list[ScoredImage]] | None = None
    try:
        while True:
            _fill(pool, source, pending, lookahead, pre)
            if cancel is not None:
                cancel.raise_if_cancelled()
            started = None
            if pending:
                count = min(batch_size, len(pending))
                decoded = [pending.popleft().result() for _ in range(count)]
                _fill(pool, source, pending, lookahead, pre)  # decode next while we compute
                started = _start_batch(model, decoded, forward_pool)
            if in_flight is not None:  # the batch before: handed out while this one runs
                batch = in_flight()
                yield from batch
                done += len(batch)
                progress(meter.report(done))
            if started is None:
                return
            in_flight = started
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        cleanup.close()


def _fill(
    pool: ThreadPoolExecutor,
    source: Iterator[str | os.PathLike[str]],
    pending: deque[Future[_Decoded]],
    limit: int,
    pre: Preprocessing,
) -> None:
    while len(pending) < limit:
        path = next(source, None)
        if path is None:
            return
        pending.append(pool.submit(_decode, Path(path), pre))
