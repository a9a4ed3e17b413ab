"""Defaults shared by the command line and the library, in a module that imports nothing heavy.

The ``video`` subparser is built whenever ``python -m neural_style`` starts; it must not pull in PyAV or
OpenCV (the optional ``video`` extra) just to show its defaults.
"""

from __future__ import annotations

DEFAULT_CRF = 18
DEFAULT_MAX_SIZE = 1920
DEFAULT_SEGMENT_SECONDS = 2.0
# Frames from the previous segment that warm the stabilizer up; 0.75 ** 8 = 10 % of its start state is left.
DEFAULT_OVERLAP = 8
# Long side of the grey frames the stabilizer's optical flow runs on (see neural_style.video.stabilize).
DEFAULT_FLOW_SIDE = 480
# x264's speed preset (see neural_style.video.encode).
X264_PRESET = "superfast"
