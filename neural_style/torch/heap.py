"""Keep freed activation memory in the process for reuse, or hand it back, around a forward pass.

A forward pass allocates and frees maps of 10-130 MB. glibc serves such sizes with fresh ``mmap``
pages and unmaps them on free, so every layer pays the kernel's page faults again: at 1024x1024 that
was a third of the fp32 forward time. Raising glibc's mmap and trim thresholds makes freed maps stay
in the heap, where the next layer reuses them. That suits one pass over a picture (the same maps are
alive at its peak), not the strips of a large photo: their many differently sized buffers fragment a
heap that never shrinks (4096x4096 went from 2.5 to 4.2 GiB of peak RSS), so strips run with glibc's
defaults and the kept memory handed back first.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

# glibc's mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP = 2**31 - 1  # the largest value glibc accepts (an int)
_DEFAULT = 128 * 1024  # glibc's initial thresholds


@functools.cache
def _glibc() -> tuple[Callable[[int, int], int], Callable[[int], int]] | None:
    """Return glibc's ``mallopt`` and ``malloc_trim``, or None where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - present only in glibc
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    malloc_trim.argtypes = (ctypes.c_size_t,)
    return mallopt, malloc_trim


def keep_freed_memory() -> bool:
    """Let freed large buffers stay in the heap for reuse (see the module docstring); False if not glibc."""
    functions = _glibc()
    if functions is None:
        return False
    mallopt, _ = functions
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP)) and bool(mallopt(_M_TRIM_THRESHOLD, _KEEP))


def return_freed_memory() -> bool:
    """Go back to glibc's default thresholds and hand kept free memory to the OS; False if not glibc."""
    functions = _glibc()
    if functions is None:
        return False
    mallopt, malloc_trim = functions
    done = bool(mallopt(_M_MMAP_THRESHOLD, _DEFAULT)) and bool(mallopt(_M_TRIM_THRESHOLD, _DEFAULT))
    malloc_trim(0)
    return done
