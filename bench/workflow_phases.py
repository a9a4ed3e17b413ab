"""Where a workflow task's time goes: phase timers for the bench, counted in every process and thread.

:func:`install` wraps the functions a stylize task calls (inputs' versions, download, model lookup, decode,
the engine, encode, publish) and Luigi's task-process start and run, so that each call appends one line
``pid phase seconds`` to the open file :func:`record_into` names. Appending single small writes to one
file works from forked task processes and threads alike. Bench-only: it patches library functions.
"""

from __future__ import annotations

import collections
import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_log_fd: list[int | None] = [None]

# Printed in this order; "start latency" is from Luigi's start() to the task's first statement (a fork, or a
# thread), "task" is Luigi's whole run() of a task in its process or thread.
PHASES = (
    "start latency",
    "versions",
    "download/check inputs",
    "model lookup",
    "decode",
    "engine (stylize)",
    "encode",
    "publish",
    "task",
)


def _record(phase: str, started: float) -> None:
    """Append how long ``phase`` took since ``started`` (perf_counter: the same clock in every process)."""
    fd = _log_fd[0]
    if fd is not None:
        os.write(
            fd, f"{os.getpid()} {phase.replace(' ', '_')} {time.perf_counter() - started:.6f}\n".encode()
        )


def _timed(owner: Any, name: str, phase: str) -> None:
    """Replace ``owner.name`` by a wrapper that records each call as ``phase``."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _record(phase, started)

    setattr(owner, name, wrapper)


def _timed_start(owner: type) -> None:
    """Make ``owner.start`` note when Luigi started the task (read back in the task's run)."""
    original = owner.start

    def start(self: Any) -> None:
        self.bench_started = time.perf_counter()
        original(self)

    owner.start = start


def install() -> None:
    """Wrap the task's phases once per process (later calls do nothing)."""
    import luigi.worker
    import PIL.Image

    import neural_style.image
    import pset_4.render
    import pset_4.runtime.workers
    import pset_4.tasks.stylize
    from neural_style.stylizer import Stylizer

    if getattr(install, "done", False):
        return
    install.done = True  # type: ignore[attr-defined]
    _timed_start(luigi.worker.TaskProcess)
    _timed_start(pset_4.runtime.workers.TaskThread)
    original_run = luigi.worker.TaskProcess.run

    def run(self: Any) -> None:
        if hasattr(self, "bench_started"):
            _record("start latency", self.bench_started)
        started = time.perf_counter()
        try:
            original_run(self)
        finally:
            _record("task", started)

    luigi.worker.TaskProcess.run = run
    _timed(pset_4.tasks.stylize.StylizeBase, "versions", "versions")
    _timed(pset_4.tasks.stylize.StylizeBase, "cached_inputs", "download/check inputs")
    _timed(pset_4.render, "cached_model", "model lookup")
    _timed(neural_style.image, "load_image", "decode")
    _timed(Stylizer, "stylize", "engine (stylize)")
    _timed(PIL.Image.Image, "save", "encode")
    _timed(pset_4.tasks.stylize, "copy_target", "publish")


@contextmanager
def record_into(path: Path) -> Iterator[None]:
    """Record phases into ``path`` while the block runs."""
    _log_fd[0] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        yield
    finally:
        fd, _log_fd[0] = _log_fd[0], None
        if fd is not None:
            os.close(fd)


def summarize(path: Path) -> dict[str, tuple[int, float]]:
    """Return each phase's call count and mean milliseconds from a file :func:`record_into` wrote."""
    seconds: dict[str, list[float]] = collections.defaultdict(list)
    for line in path.read_text().splitlines():
        _, phase, value = line.split()
        seconds[phase.replace("_", " ")].append(float(value))
    return {phase: (len(v), 1000 * sum(v) / len(v)) for phase, v in seconds.items()}
