"""Luigi's list of a task class's parameters, made once per class instead of at every call.

``luigi.Task.get_params`` walks ``dir(cls)`` each time it is called, and Luigi calls it about two dozen
times per task (making an instance, its id, its string form, the scheduler's messages): at 80 small tasks
that was a twentieth of the workflow's own cost. A task class's parameters are fixed once the class is
defined (no pset_4 class adds any later), so :class:`ParamsListedOnce` keeps the first answer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ParamsListedOnce"]

_CACHE = "_pset_4_params"


class ParamsListedOnce:
    """Mixin for a ``luigi.Task`` subclass: ``get_params`` computed once per class, then copied."""

    @classmethod
    def get_params(cls) -> list[tuple[str, Any]]:
        """Return Luigi's ``get_params()`` for this class (each class keeps its own, subclasses too)."""
        listed = cls.__dict__.get(_CACHE)
        if listed is None:
            listed = super().get_params()  # type: ignore[misc]
            setattr(cls, _CACHE, listed)
        return list(listed)
