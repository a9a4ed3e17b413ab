"""Ending a short command the moment its work is safely done, without the interpreter's teardown.

A finished command still spends 25-30 ms in teardown, about a tenth of a one-photo ``neural_style eval``:
finalising modules (numpy, Pillow, ONNX Runtime) and releasing ONNX Runtime's session (its memory arena,
its thread pool). None of it does anything a finished command needs: every file the project writes is
already complete and fsynced by :func:`csci_utils.io.atomic_write`. So :func:`quick_exit` flushes what
the interpreter would flush (logging handlers, stdout, stderr) and ends the process with ``os._exit``.

It exits the normal way when teardown could matter: another Python thread is still alive (it might be
writing), or a tracer, profiler or coverage is measuring (they save their data at exit).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import suppress
from typing import NoReturn

__all__ = ["quick_exit", "teardown_matters"]


def teardown_matters() -> bool:
    """Return True when skipping the interpreter's teardown could lose something."""
    return (
        threading.active_count() > 1
        or sys.gettrace() is not None
        or sys.getprofile() is not None
        or "coverage" in sys.modules
    )


def quick_exit(status: int) -> NoReturn:
    """End the process with exit status ``status``, skipping teardown unless :func:`teardown_matters`."""
    if teardown_matters():
        raise SystemExit(status)
    logging.shutdown()  # flushes and closes every handler, as the interpreter's exit would
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):  # a closed pipe must not turn a finished command into a failure
            stream.flush()
    os._exit(status)
