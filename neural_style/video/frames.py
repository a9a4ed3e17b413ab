"""Decoding a run of frames as RGB arrays, and the frame size the output uses."""

from __future__ import annotations

import os
from collections.abc import Iterator

import av
import numpy as np

from .errors import VideoInputError
from .info import VideoInfo

MIN_SIDE = 16


def output_size(width: int, height: int, max_size: int | None) -> tuple[int, int]:
    """Return the (width, height) frames are stylized and encoded at: long side capped, both sides even.

    H.264 in yuv420p needs even sides, so an odd side loses its last pixel's worth by resizing.
    """
    scale = 1.0
    if max_size is not None and max(width, height) > max_size:
        scale = max_size / max(width, height)
    new_w = max(int(width * scale) // 2 * 2, 2)
    new_h = max(int(height * scale) // 2 * 2, 2)
    return new_w, new_h


def decode_frames(info: VideoInfo, start: int, stop: int, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """Yield frames ``start`` to ``stop - 1`` (presentation order) as ``[H, W, 3]`` uint8 RGB at ``size``.

    Seeks to the keyframe at or before ``start`` and decodes from there. A decoding error mid-clip (a
    damaged or truncated file) raises :class:`VideoInputError`.
    """
    if start >= stop:
        return
    index_of = {pts: i for i, pts in enumerate(info.frame_pts)}
    width, height = size
    wanted = start
    try:
        with av.open(os.fspath(info.path), "r") as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            container.seek(info.frame_pts[start], stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                index = index_of.get(frame.pts) if frame.pts is not None else None
                if index is None or index < wanted:
                    continue
                yield frame.to_ndarray(format="rgb24", width=width, height=height)
                wanted = index + 1
                if wanted >= stop:
                    return
    except av.error.FFmpegError as err:
        msg = f"{info.path}: damaged or truncated video at frame {wanted} ({' '.join(str(err).split())})"
        raise VideoInputError(msg) from None
    if wanted < stop:
        msg = f"{info.path}: truncated video: frame {wanted} of {info.frame_count} could not be decoded"
        raise VideoInputError(msg)
