"""A command's process: NumPy's BLAS off the other cores, imports without rescans, an end without teardown.

NumPy's BLAS kept on one thread, the command's modules imported without the cycle collector's rescans, its
end without the interpreter's teardown. All three are for a command line's entry point (``python -m
pset_4``, ``python -m neural_style``), not for a library: they change the whole process.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import NoReturn

__all__ = ["long_lived_imports", "numpy_blas_on_one_thread", "quick_exit"]

BLAS_THREADS_VARIABLE = "OPENBLAS_NUM_THREADS"


def numpy_blas_on_one_thread() -> None:
    """Have NumPy's BLAS (OpenBLAS) run on the calling thread, unless the environment already says otherwise.

    Call it before NumPy is imported; child processes inherit it. At import, OpenBLAS starts a thread for
    each other core, and each spins for about 0.1 s waiting for work, on the cores that the command's real
    work (ONNX Runtime, PyTorch, Luigi's workers) needs at that very moment: 15-20 ms of a one-photo
    ``eval``. Our commands give NumPy's BLAS nothing large (style vectors, colour matrices); PyTorch brings
    its own BLAS.
    """
    os.environ.setdefault(BLAS_THREADS_VARIABLE, "1")


@contextmanager
def long_lived_imports() -> Iterator[None]:
    """Run the block (a command's imports) with the cycle collector paused, then freeze what exists.

    Modules, classes and functions live until the process ends, yet each import allocates enough of them to
    start collections that scan everything made so far, over and over: about 30 ms of the workflow's 200 ms
    of imports (Luigi, NumPy, Pillow). Frozen, they are left out of every later collection too, while the
    command's own garbage is collected as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
    gc.freeze()


def quick_exit(status: int) -> NoReturn:
    """End the process with ``status`` at once, skipping the interpreter's teardown when nothing needs it.

    A finished command still spends 25-70 ms in teardown: finalising modules (numpy, Pillow, Luigi, ONNX
    Runtime) and releasing ONNX Runtime's sessions (memory arenas, thread pools). None of it does anything a
    finished command needs: every file written is already complete and fsynced
    (:func:`csci_utils.io.atomic_write`). So this flushes what the interpreter would (logging handlers,
    stdout, stderr) and ends with ``os._exit``; it exits the normal way when teardown could matter: another
    thread is alive (it might be writing), a child process of ``multiprocessing`` is (the interpreter joins
    it) or its temporary folder exists (the interpreter removes it), or a tracer, profiler or coverage is
    measuring (they save their data at exit).
    """
    if _teardown_matters():
        raise SystemExit(status)
    logging.shutdown()  # flushes and closes every handler, as the interpreter's exit would
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):  # a closed pipe must not turn a finished command into a failure
            stream.flush()
    os._exit(status)


def _teardown_matters() -> bool:
    """Whether the interpreter's exit still has work to do for this process (see :func:`quick_exit`)."""
    if threading.active_count() > 1 or sys.gettrace() or sys.getprofile() or "coverage" in sys.modules:
        return True
    if "multiprocessing" not in sys.modules:  # not imported: it has nothing to clean up
        return False
    import multiprocessing

    if multiprocessing.active_children():
        return True
    # The folder multiprocessing.util.get_temp_dir made (it has no public question for it): only its exit
    # handler removes it.
    return multiprocessing.current_process()._config.get("tempdir") is not None  # type: ignore[attr-defined]
