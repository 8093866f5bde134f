"""The contenders: fastai's predict loop and get_preds, `sorter sort`, and the machine's bound."""

from __future__ import annotations

import copy
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from common import run_measured, sorter_cmd

log = logging.getLogger(__name__)

FORWARD_BATCH = 32


# --- fastai: a Learner whose model IS Sorter's loaded network (same weights, same object) ---


def fastai_learner(model: Any, files: Sequence[Path]) -> Any:
    """A fastai Learner around a copy of model.network with the model file's valid transforms.

    Resize(input_size, method) as item transform and Normalize(mean, std) as batch transform are
    exactly what fastai training would have used; the loss (hence the activation fastai applies in
    predict/get_preds) follows meta["activation"]: softmax for softmax-groups, sigmoid otherwise.
    """
    from fastai.vision.all import (
        BCEWithLogitsLossFlat,
        CategoryBlock,
        CrossEntropyLossFlat,
        DataBlock,
        ImageBlock,
        IndexSplitter,
        Learner,
        MultiCategoryBlock,
        Normalize,
        Resize,
        ResizeMethod,
    )

    meta = model.meta.to_dict()
    vocab = [str(i) for i in range(int(meta["n_outputs"]))]
    softmax = meta["activation"] != "sigmoid"
    method = {"crop": ResizeMethod.Crop, "squish": ResizeMethod.Squish, "pad": ResizeMethod.Pad}
    norm = meta.get("normalize")
    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock(vocab=vocab) if softmax else MultiCategoryBlock(vocab)),
        get_y=(lambda _: "0") if softmax else (lambda _: ["0"]),
        splitter=IndexSplitter([]),
        item_tfms=Resize(int(meta["input_size"]), method=method[meta["resize_method"]]),
        batch_tfms=[Normalize.from_stats(norm["mean"], norm["std"])] if norm else [],
    )
    dls = block.dataloaders(list(files[:2]), bs=FORWARD_BATCH, num_workers=0, device=model.device)
    loss = CrossEntropyLossFlat() if softmax else BCEWithLogitsLossFlat()
    # A copy, so the layout Sorter's predictor gives its own network never reaches fastai.
    return Learner(dls, copy.deepcopy(model.network), loss_func=loss)


def run_predict_loop(learn: Any, files: Sequence[Path]) -> float:
    """Seconds for learn.predict(path) on every file, one at a time (what the seeds did)."""
    start = time.perf_counter()
    with learn.no_bar(), learn.no_logging():
        for path in files:
            learn.predict(path)
    return time.perf_counter() - start


def run_get_preds(learn: Any, files: Sequence[Path]) -> tuple[float, torch.Tensor]:
    """Seconds for one get_preds over a test_dl of every file (num_workers=0), and the scores."""
    start = time.perf_counter()
    with learn.no_bar(), learn.no_logging():
        dl = learn.dls.test_dl(list(files), num_workers=0)
        preds, _ = learn.get_preds(dl=dl)
    return time.perf_counter() - start, preds


# --- Sorter's own pipeline, piece by piece ---


def decode_one(model: Any, path: Path) -> torch.Tensor:
    """What one decode thread of the predictor does for one file: open_image, then resize."""
    from sorter.core.model import predict

    img = predict.open_image(path, size_hint=model.meta.input_size)
    return predict.to_uint8_tensor(img, model.meta.preprocessing)


def top1_agreement(model: Any, files: Sequence[Path], fastai_preds: torch.Tensor) -> dict:
    """Compare fastai's class probabilities with Sorter's own decode + network on the same files."""
    batch = torch.stack([decode_one(model, p) for p in files])
    with torch.inference_mode():
        if batch.dtype == torch.uint8:
            batch = model.normalize_uint8(batch)
        logits = model.network(batch.to(model.device)).float().cpu()
    probs = logits.softmax(1) if model.meta.activation != "sigmoid" else logits.sigmoid()
    same = (probs.argmax(1) == fastai_preds.argmax(1)).float().mean().item()
    return {
        "top1_agreement": round(same, 4),
        "max_abs_prob_diff": round((probs - fastai_preds).abs().max().item(), 4),
    }


def _cpu_seconds(fn: Callable[[], Any]) -> float:
    start = time.thread_time()  # this thread's user + system CPU time
    fn()
    return time.thread_time() - start


def decode_cpu_s(model: Any, files: Sequence[Path]) -> float:
    """Mean single-threaded CPU-seconds to decode and resize one file."""
    return sum(_cpu_seconds(lambda p=p: decode_one(model, p)) for p in files) / len(files)


def _pipeline_forward(model: Any) -> Callable[[torch.Tensor], Any]:
    """The call the predictor makes on one decoded batch (its own helper when it has one)."""
    from sorter.core.model import predict

    helper = getattr(predict, "forward_scores", None)
    return (lambda batch: helper(model, batch)) if helper else model.scores


def _pipeline_state(model: Any) -> AbstractContextManager[Any]:
    """The set-up score_images puts the network in on the CPU (layout), when it has one."""
    from sorter.core.model import predict

    setup = getattr(predict, "_cpu_forward_pool", None)
    return setup(model) if setup and model.device.type == "cpu" else nullcontext()


def forward_cost(model: Any, files: Sequence[Path], reps: int = 3) -> dict[str, float]:
    """Per image: CPU-seconds of a batch-32 forward on one thread (CPU) or GPU wall seconds."""
    tensors = [decode_one(model, files[i % len(files)]) for i in range(FORWARD_BATCH)]
    batch = torch.stack(tensors)
    forward = _pipeline_forward(model)
    if model.device.type == "cuda":
        forward(batch)  # warm-up: cuDNN picks its kernels
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(reps):
            forward(batch)
        torch.cuda.synchronize()
        return {"gpu_wall_s": (time.perf_counter() - start) / reps / FORWARD_BATCH}
    threads = torch.get_num_threads()
    with _pipeline_state(model):
        torch.set_num_threads(1)  # one thread: its CPU time is the work itself, no spinning
        try:
            forward(batch)
            cpu = min(_cpu_seconds(lambda: forward(batch)) for _ in range(reps))
        finally:
            torch.set_num_threads(threads)
    return {"cpu_s": cpu / FORWARD_BATCH}


def _sorter_copy() -> Callable[[Path, Path], Any]:
    """Sorter's own safe copy (temp name, fsync, rename, hash) when present, else copy2."""
    try:
        from sorter.core.sorting.safecopy import place_file
    except ImportError:
        return lambda src, folder: shutil.copy2(src, folder / src.name)
    return place_file


def copy_cost(files: Sequence[Path], dest: Path) -> dict[str, float]:
    """Mean CPU-seconds (user + system) and wall seconds to copy one file the way Sorter does."""
    copy = _sorter_copy()
    cpu = wall = 0.0
    for i, path in enumerate(files):
        folder = dest / str(i % 16)  # a few folders, as categories spread the copies
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        cpu += _cpu_seconds(lambda p=path, f=folder: copy(p, f))
        wall += time.perf_counter() - start
    shutil.rmtree(dest)
    return {"cpu_s": cpu / len(files), "wall_s": wall / len(files)}


def bound(model: Any, files: Sequence[Path], cores: int, copies_per_image: float) -> dict:
    """The machine's limit for Sorter's pipeline: cores / CPU-seconds per image."""
    decode = decode_cpu_s(model, files)
    forward = forward_cost(model, files)
    with tempfile.TemporaryDirectory(dir=files[0].parent.parent) as tmp:
        copy_one = copy_cost(files, Path(tmp) / "copies")
    copy = copy_one["cpu_s"] * copies_per_image
    if "cpu_s" in forward:
        per_image = decode + forward["cpu_s"] + copy
        rate = cores / per_image
    else:  # GPU: the cores decode and copy while the card runs the network
        per_image = decode + copy
        rate = min(cores / per_image, 1 / forward["gpu_wall_s"])
    return {
        "decode_cpu_s": decode,
        "forward": forward,
        "copy_cpu_s": copy,
        "copy_wall_s_per_file": copy_one["wall_s"],
        "copies_per_image": copies_per_image,
        "cpu_s_per_image": per_image,
        "cores": cores,
        "images_per_s": rate,
    }


# --- `sorter sort`: the real command ---

_RATE = re.compile(r"([\d.]+)\s*(?:images|img)/s")


def run_sorter_sort(
    src: Path,
    out: Path,
    extra: Sequence[str] = (),
    env: dict[str, str] | None = None,
    cmd: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Wall time of the whole `sorter sort` process (start, model load, sort, copy, report)."""
    if out.exists():
        shutil.rmtree(out)
    cmd = list(cmd or sorter_cmd())
    result = run_measured([*cmd, "sort", str(src), "--out", str(out), *extra], env=env)
    if result["returncode"] != 0:
        raise RuntimeError(
            f"sorter sort failed ({result['returncode']}): {result['stderr'][-2000:]}"
        )
    found = _RATE.findall(result["stdout"] + result["stderr"])
    result["printed_images_per_s"] = float(found[-1]) if found else None
    return result
