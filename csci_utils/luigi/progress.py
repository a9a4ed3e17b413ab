"""Transfer progress: a tqdm bar of bytes, rate and ETA on a terminal, nothing in CI logs."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["ProgressCallback", "progress"]

ProgressCallback = Callable[[int], None]
_REDRAW_EVERY_S = 0.5


@contextmanager
def progress(label: str, total: int | None, enabled: bool | None = None) -> Iterator[ProgressCallback | None]:
    """Yield a thread-safe callback that counts bytes on a stderr bar, or None when not ``enabled``.

    :param enabled: default: only when stderr is a terminal
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from tqdm import tqdm  # only for a bar: off a terminal, every copy's start-up is spared its import

    lock = threading.Lock()  # boto3 reports from its transfer threads
    with tqdm(
        total=total,
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        mininterval=_REDRAW_EVERY_S,
        leave=True,
    ) as bar:

        def advance(amount: int) -> None:
            with lock:
                bar.update(amount)

        yield advance
