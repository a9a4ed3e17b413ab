"""Batch progress on a terminal: a tqdm bar of the results done, counted from every task thread and process.

A task's success event fires where it ran: on a thread of the worker (:mod:`pset_4.runtime.workers`), or in
a process Luigi forked for it (a task with a timeout, ``force_multiprocessing``). So the count lives in
shared memory made before any fork, and a thread of this process draws the bar from it. Off a terminal
there is no bar (the per-result log lines say the same).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import luigi

# The batch being counted in this process (and, inherited through fork, in its worker processes).
_counting: tuple[frozenset[str], Any] | None = None
_REFRESH_S = 0.2
_registered = False


def _count_success(task: luigi.Task) -> None:
    """Count a result of the batch being shown."""
    if _counting is not None and task.task_id in _counting[0]:
        done = _counting[1]
        with done.get_lock():
            done.value += 1


@contextmanager
def batch_progress(results: Iterable[luigi.Task], *, enabled: bool | None = None) -> Iterator[None]:
    """Show a bar of ``results`` done while the block runs them (on a terminal unless ``enabled`` says)."""
    global _counting, _registered
    wanted = frozenset(task.task_id for task in results)
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show or not wanted:
        yield
        return
    if not _registered:  # Luigi's handlers are process-wide and never removed: register this one once
        luigi.Task.event_handler(luigi.Event.SUCCESS)(_count_success)
        _registered = True
    from tqdm import tqdm  # only for a bar: a batch off a terminal is spared its import

    done = multiprocessing.Value("i", 0)
    stop = threading.Event()
    bar = tqdm(total=len(wanted), unit="result", desc="pset_4", file=sys.stderr, dynamic_ncols=True)

    def draw() -> None:
        while not stop.wait(_REFRESH_S):
            bar.update(done.value - bar.n)

    drawer = threading.Thread(target=draw, name="pset_4-progress", daemon=True)
    _counting = (wanted, done)
    drawer.start()
    try:
        yield
    finally:
        _counting = None
        stop.set()
        drawer.join()
        bar.update(done.value - bar.n)
        bar.close()
