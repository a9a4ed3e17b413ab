"""The error for a file that is not a usable video (not a video, no frames, truncated, unknown codec)."""

from __future__ import annotations

from neural_style.errors import NeuralStyleError


class VideoInputError(NeuralStyleError):
    """The input cannot be read as a video; the message names the file and says why, on one line."""
