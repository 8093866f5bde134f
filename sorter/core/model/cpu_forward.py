"""Run a CNN over a batch on the CPU fast: small channels_last chunks side by side, one per core."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch
from torch import nn

# On the CPU the network sees at most this many images at once. A small chunk keeps MobileNetV2's
# activations in cache: on this project's 2-core machine a 32-image pass with torch's own two
# threads cost about 92 ms per image, chunks of 8 side by side 16-19 ms (README, Training). With
# BatchNorm folded, chunks of 4 side by side took 10.6 ms per image against 11.8 for chunks of 8
# (median of 6), and whole sorts of 120 VGA images ran at 76 against 67 images/s (median of 8).
CPU_CHUNK = 4


def split_evenly(count: int, workers: int, largest: int = CPU_CHUNK) -> list[int]:
    """Chunk sizes that cover `count` rows, none over `largest`, in a multiple of `workers`.

    Equal chunks keep every core busy to the end of a batch: with chunks of at most 8, 28 rows on
    2 cores become 4 x 7, not 8, 8, 8, 4 (where one core would idle through the last round).
    """
    if count <= 0:
        return []
    chunks = -(-count // largest)
    chunks = min(count, -(-chunks // workers) * workers)
    base, extra = divmod(count, chunks)
    return [base + 1] * extra + [base] * (chunks - extra)


def chunked(
    fn: Callable[[torch.Tensor], torch.Tensor],
    batch: torch.Tensor,
    pool: ThreadPoolExecutor | None,
    workers: int = 1,
) -> torch.Tensor:
    """fn over a channels_last NCHW batch in even chunks, side by side on `pool` when given."""
    if pool is None:
        return torch.cat([fn(c) for c in _chunks(batch, workers)])
    return submit_chunked(fn, batch, pool, workers)()


def submit_chunked(
    fn: Callable[[torch.Tensor], torch.Tensor],
    batch: torch.Tensor,
    pool: ThreadPoolExecutor,
    workers: int,
) -> Callable[[], torch.Tensor]:
    """Start fn over `batch` in even channels_last chunks on `pool` and return at once.

    The returned function waits for the chunks and gives their rows in order. Queuing the next
    batch before collecting this one keeps the pool busy while the caller stacks, stores and
    reports: on small images that serial work would otherwise leave both cores idle.
    """
    futures = [pool.submit(fn, c) for c in _chunks(batch, workers)]
    return lambda: torch.cat([f.result() for f in futures])


def _chunks(batch: torch.Tensor, workers: int) -> tuple[torch.Tensor, ...]:
    batch = batch.contiguous(memory_format=torch.channels_last)
    return torch.split(batch, split_evenly(len(batch), workers))


@contextmanager
def cpu_forward_pool(network: nn.Module) -> Iterator[tuple[ThreadPoolExecutor, int]]:
    """A pool of one forward thread per core, each on one torch thread; restored afterwards.

    torch's own OpenMP threads would share the cores with image-decoding threads, and their
    spin-waits then cost more than they give. Whole chunks side by side do not wait on each other.
    The network is put in channels_last, oneDNN's fastest layout on the CPU.
    """
    before = torch.get_num_threads()
    workers = max(1, before)
    network.to(memory_format=torch.channels_last)
    torch.set_num_threads(1)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="forward")
    try:
        yield pool, workers
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # chunks queued for a batch nobody wants
        torch.set_num_threads(before)
