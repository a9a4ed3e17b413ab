"""One call run on a thread of its own while the caller does something else.

ONNX Runtime builds a session without holding the GIL and Pillow decodes without it too, so a command that
needs both (a model and a photo) can have them at the same time instead of one after the other. A plain
thread, not :mod:`concurrent.futures`: importing that costs a short command about 7 ms.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def in_background(call: Callable[[], T], *, name: str) -> Callable[[], T]:
    """Start ``call()`` on a new thread now; return the function that waits for it and returns or re-raises.

    The returned function may be called any number of times. The thread is not a daemon: an interpreter
    that exits while it runs waits for it, rather than killing it inside native code.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as err:  # handed to whoever waits, whatever it is
            failure.append(err)

    thread = threading.Thread(target=run, name=name)
    thread.start()

    def wait() -> T:
        thread.join()
        if failure:
            raise failure[0]
        return outcome[0]

    return wait
