"""PyTorch's thread count per pass: never more threads than cores other processes leave free.

PyTorch's CPU kernels split each operation into one equal share per thread (OpenMP) and wait for the
last share. When another process keeps a core busy, the share of the thread that must wait for that core
holds up every operation: with one of two cores busy, the 26-style network took 433 ms at 512 px (the
peer, on its own thread pool, 184 ms) and the style-picture transform 347 ms at 384 px, against 45 ms on
one thread. So each pass starts by counting the cores busy elsewhere
(:func:`~neural_style.hardware.cores_busy_elsewhere`) and runs on the cores left, up to the threads it
was given; a lone process, or one told to use one thread, is not touched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from neural_style.hardware import cores_busy_elsewhere, usable_cores

__all__ = ["cap_threads", "threads_left_free"]

# Readings of the busy cores per pass, a little apart; the least counts, so that a thread that only wakes
# for a moment (a timer, a kernel worker) does not halve a pass's threads.
READINGS = 3
READING_GAP_S = 20e-6

_LOCK = threading.Lock()  # one pass at a time changes the process's thread count


def cap_threads(threads: int | None) -> None:
    """Cap PyTorch's CPU threads at ``threads`` (None: leave its default, one per core).

    Process-wide: PyTorch has one intra-op pool. The engines take the count in force when they are built as
    theirs (see :func:`threads_left_free`).
    """
    if threads is not None:
        torch.set_num_threads(threads)


@contextmanager
def threads_left_free(threads: int) -> Iterator[int]:
    """Run the block with at most ``threads`` PyTorch threads, fewer when other processes use the cores.

    Yields the count used; the process's count is ``threads`` again afterwards.
    """
    if threads <= 1:
        yield threads
        return
    free = max(1, min(threads, usable_cores() - _steadily_busy()))
    if free >= threads:
        yield threads
        return
    with _LOCK:
        torch.set_num_threads(free)
        try:
            yield free
        finally:
            torch.set_num_threads(threads)


def _steadily_busy() -> int:
    """Return the cores other processes keep busy through :data:`READINGS` readings."""
    least = cores_busy_elsewhere()
    for _ in range(READINGS - 1):
        if least == 0:
            break
        time.sleep(READING_GAP_S)
        least = min(least, cores_busy_elsewhere())
    return least
