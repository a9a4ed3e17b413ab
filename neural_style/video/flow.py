"""Optical flow between source frames (OpenCV's DIS), warping by it, and where it can be trusted.

Shared by the stabilizer and the metrics so that both judge motion the same way. Flow is computed on a
grey copy shrunk to at most ``flow_side`` pixels on its long side: DIS costs grow with the pixels. The
stabilizer uses 480 (:data:`neural_style.video.stabilize.FLOW_SIDE`: as steady as 640 on the bench's clip
for 70 % of the CPU); at 320 with DIS "fast", fine texture aliases on its coarsest patch grid and the
flow fails the forward-backward check too often (the warping error target is missed).

Every full-frame pass is one OpenCV call or one numpy expression on ``float32``: ``cv2.remap`` takes the
sampling coordinates as one two-channel map (the pixel grid, built once per size, plus the flow), and
the checks work on 8-bit masks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

# Forward-backward check of Sundaram et al. (2010), as used for video style transfer by Ruder et al.
# (2016): a pixel is trusted when following the flow there and back lands within this much of it.
_FB_RELATIVE = 0.01
_FB_ABSOLUTE = 0.5
# A trusted pixel must also look the same once warped (grey levels of 255): catches lighting changes.
_PHOTOMETRIC = 24


@dataclass(frozen=True)
class Motion:
    """How the previous frame maps onto the current one, at full frame size.

    ``backward[y, x]`` is the offset from pixel ``(x, y)`` of the current frame to where it was in the
    previous one; ``trusted`` is 1.0 where that is reliable and 0.0 at occlusions, disocclusions and
    pixels that came from outside the frame. ``matched_fraction`` is the share of pixels that look the
    same once warped (the photometric check alone): low only when the previous frame shows another scene.
    """

    backward: np.ndarray
    trusted: np.ndarray
    matched_fraction: float

    @property
    def trusted_fraction(self) -> float:
        """Share of the frame's pixels whose motion is trusted."""
        return float(self.trusted.mean())


def to_grey(rgb: np.ndarray, side: int) -> np.ndarray:
    """Return an 8-bit grey copy of ``rgb`` shrunk so its long side is at most ``side``."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    scale = side / max(height, width)
    if scale < 1:
        size = (max(round(width * scale), 8), max(round(height * scale), 8))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


@functools.lru_cache(maxsize=8)
def _pixel_grid(height: int, width: int) -> np.ndarray:
    """Return the ``[H, W, 2]`` float32 (x, y) coordinates of every pixel (read-only, shared)."""
    grid = np.empty((height, width, 2), dtype=np.float32)
    grid[..., 0] = np.arange(width, dtype=np.float32)[None, :]
    grid[..., 1] = np.arange(height, dtype=np.float32)[:, None]
    grid.flags.writeable = False
    return grid


def sample_points(backward: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Where each pixel of the current frame samples the previous one: its coordinates plus the flow."""
    height, width = backward.shape[:2]
    return np.asarray(np.add(backward, _pixel_grid(height, width), out=out))


def remap(image: np.ndarray, points: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Sample ``image`` (any channels) at ``points`` (from :func:`sample_points`), bilinearly."""
    # One two-channel map and no second one (None); OpenCV's stubs only admit an array there.
    mapped = cv2.remap(
        image,
        points,
        None,  # type: ignore[call-overload]
        dst=out,
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(mapped)


def warp(image: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Pull ``image`` (the previous frame, any channels) along ``backward`` onto the current frame."""
    return remap(image, sample_points(backward))


class FlowEstimator:
    """Estimates :class:`Motion` between consecutive source frames with DIS optical flow."""

    def __init__(self, *, flow_side: int = 640, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST) -> None:
        self.flow_side = flow_side
        self._dis = cv2.DISOpticalFlow.create(preset)

    def grey(self, rgb: np.ndarray) -> np.ndarray:
        """Return the grey, shrunk copy of a frame that :meth:`motion` takes."""
        return to_grey(rgb, self.flow_side)

    def _calc(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        # OpenCV takes None for "no initial flow"; its stubs only admit an array there.
        return np.asarray(self._dis.calc(first, second, None))  # type: ignore[call-overload]

    def motion(self, previous: np.ndarray, current: np.ndarray, size: tuple[int, int]) -> Motion:
        """Return the motion from grey frame ``previous`` to grey frame ``current``, at ``size`` (w, h)."""
        backward = self._calc(current, previous)
        forward = self._calc(previous, current)
        points = sample_points(backward)
        matched = _photometric(previous, current, points)
        trusted = cv2.bitwise_and(_consistent(backward, forward, points), matched)
        mask = np.multiply(trusted, np.float32(1 / 255), dtype=np.float32)
        width, height = size
        small_h, small_w = current.shape
        if (small_w, small_h) != (width, height):
            backward = cv2.resize(backward, (width, height), interpolation=cv2.INTER_LINEAR)
            backward *= np.array([width / small_w, height / small_h], dtype=np.float32)
            mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
        matched_fraction = cv2.countNonZero(matched) / matched.size
        return Motion(backward=backward, trusted=mask, matched_fraction=matched_fraction)


def _consistent(backward: np.ndarray, forward: np.ndarray, points: np.ndarray) -> np.ndarray:
    """255 where the backward flow, followed by the forward flow from where it lands, returns home.

    Pixels whose flow leads out of the frame fail too.
    """
    height, width = backward.shape[:2]
    there = remap(forward, points)
    loop = backward + there
    error = _squared_length(loop)
    scale = _squared_length(backward) + _squared_length(there)
    ok = (error <= _FB_RELATIVE * scale + _FB_ABSOLUTE).view(np.uint8) * np.uint8(255)
    inside = cv2.inRange(points, (0.0, 0.0), (width - 1.0, height - 1.0))
    return np.asarray(cv2.bitwise_and(ok, inside))


def _squared_length(field: np.ndarray) -> np.ndarray:
    """``x**2 + y**2`` of a ``[H, W, 2]`` field (numpy's sum over a last axis of 2 is 30x slower)."""
    x, y = field[..., 0], field[..., 1]
    return np.asarray(x * x + y * y)


def _photometric(previous: np.ndarray, current: np.ndarray, points: np.ndarray) -> np.ndarray:
    """255 where the current frame looks as it did where the flow says a pixel came from (8-bit grey)."""
    pulled = remap(previous, points)
    close = np.asarray(cv2.absdiff(pulled, current)) <= _PHOTOMETRIC
    return close.view(np.uint8) * np.uint8(255)
