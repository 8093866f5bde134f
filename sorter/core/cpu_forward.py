"""Run a CNN over a batch on the CPU fast: small channels_last chunks side by side, one per core."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import torch
from torch import nn

# On the CPU the network sees at most this many images at once. A small chunk keeps MobileNetV2's
# activations in cache: on this project's 2-core machine a 32-image pass with torch's own two
# threads cost about 92 ms per image, chunks of 8 side by side 16-19 ms (README, Training).
CPU_CHUNK = 8


def split_evenly(count: int, workers: int, largest: int = CPU_CHUNK) -> list[int]:
    """Chunk sizes that cover `count` rows, none over `largest`, in a multiple of `workers`.

    Equal chunks keep every core busy to the end of a batch: 28 rows on 2 cores become 4 x 7,
    not 8, 8, 8, 4 (where one core would idle through the last round).
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
    batch = batch.contiguous(memory_format=torch.channels_last)
    chunks = torch.split(batch, split_evenly(len(batch), workers))
    return torch.cat(list(pool.map(fn, chunks) if pool else map(fn, chunks)))


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
        pool.shutdown(wait=True)
        torch.set_num_threads(before)
