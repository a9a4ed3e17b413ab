"""Ctrl-C that a build cannot lose: remembered when it is raised, raised again where Luigi swallowed it.

Luigi runs a task's event callbacks (progress lines, success handlers) in the worker's own thread and, by
design, returns quietly from ``trigger_event`` when one of them is interrupted. A Ctrl-C that lands there
would vanish and the batch would carry on. Inside :func:`ctrl_c_latched` the SIGINT handler records the
interrupt before raising it, and the worker (:class:`pset_4.runtime.workers.ThreadedWorker`) calls
:func:`raise_if_interrupted` at each turn of its loop.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_interrupted = threading.Event()


@contextmanager
def ctrl_c_latched() -> Iterator[None]:
    """Within the block, remember every Ctrl-C as well as raising it (outermost block only).

    Nothing changes where SIGINT is not Python's default handler (ignored by the parent, or a program's
    own handler) or off the main thread, where a handler cannot be installed.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    _interrupted.clear()
    previous = signal.signal(signal.SIGINT, _remember_and_raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _interrupted.clear()


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C arrived in the current :func:`ctrl_c_latched` block."""
    if _interrupted.is_set():
        raise KeyboardInterrupt


def _remember_and_raise(signum: int, frame: FrameType | None) -> None:
    _interrupted.set()
    raise KeyboardInterrupt
