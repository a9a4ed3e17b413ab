"""Stylize video clips: decode and encode with PyAV, stabilize with optical flow, split into segments.

The pieces the workflow needs, each a few lines per Luigi task: :func:`probe` a clip, :func:`plan_segments`,
:func:`stylize_segment` each (atomic, resumable), :func:`join_segments` (stream copy plus the original
audio). :func:`stylize_video` does all of it in one process; :mod:`.metrics` measures flicker and ghosting.
"""

from .errors import VideoInputError
from .pipeline import stylize_video
from .probe import VideoInfo, probe
from .segments import Segment, join_segments, plan_segments, stylize_segment
from .stabilize import Stabilizer

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
