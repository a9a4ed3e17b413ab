"""One call run on a thread of its own while the caller does something else.

ONNX Runtime builds a session without holding the GIL and Pillow decodes without it too, so a command that
needs both (a model and a photo) can have them at the same time instead of one after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """Start ``call()`` on a new thread now; :meth:`result` waits for it and returns or re-raises.

    The thread is not a daemon: an interpreter that exits while it runs waits for it, rather than
    killing it inside native code.
    """

    def __init__(self, call: Callable[[], T], *, name: str = "neural_style-background") -> None:
        self._call = call
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as err:  # handed to the caller by result(), whatever it is
            self._error = err

    def result(self) -> T:
        """Wait for the call; return its value or raise its exception (each time it is asked)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
