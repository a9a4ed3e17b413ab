"""Stylize video clips: decode and encode with PyAV, stabilize with optical flow, split into segments.

The pieces the workflow needs, each a few lines per Luigi task: :func:`probe` a clip, :func:`plan_segments`,
:func:`stylize_segment` each (atomic, resumable), :func:`join_segments` (stream copy plus the original
audio). :func:`stylize_video` does all of it in one process; :mod:`.metrics` measures flicker and ghosting.

Names load on first use (PEP 562), so that the command line (which reads :mod:`.defaults` whenever it
starts) does not import PyAV and OpenCV, the optional ``video`` extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import VideoInputError
    from .info import VideoInfo, probe
    from .pipeline import stylize_video
    from .segments import Segment, join_segments, plan_segments, stylize_segment
    from .stabilize import Stabilizer

_HOMES = {
    "Segment": "segments",
    "Stabilizer": "stabilize",
    "VideoInfo": "info",
    "VideoInputError": "errors",
    "join_segments": "segments",
    "plan_segments": "segments",
    "probe": "info",
    "stylize_segment": "segments",
    "stylize_video": "pipeline",
}

__all__ = [
    "Segment",
    "Stabilizer",
    "VideoInfo",
    "VideoInputError",
    "join_segments",
    "plan_segments",
    "probe",
    "stylize_segment",
    "stylize_video",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module the first time it is asked for."""
    try:
        home = _HOMES[name]
    except KeyError:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg) from None
    return getattr(importlib.import_module(f".{home}", __name__), name)
