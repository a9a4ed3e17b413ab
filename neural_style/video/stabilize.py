"""Temporal stabilization: each output frame leans on the previous one, carried along the source's motion.

Per frame: warp the previous *output* onto the current frame with the source's optical flow, and blend
it into the fresh stylization where the flow is trusted (forward-backward and photometric checks). Pixels
the check rejects (occlusions, things entering the frame) take the fresh frame, and so does the whole
frame after a scene cut, so nothing is blended across one. Unlike an exponential moving average of whole
frames, moving edges follow the motion, so they do not leave ghosts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flow import FlowEstimator, warp

# Below this share of trusted pixels the previous frame shows another scene: a cut.
CUT_TRUSTED_FRACTION = 0.4


@dataclass(frozen=True)
class StabilizeStep:
    """One stabilized frame and what the stabilizer decided for it."""

    frame: np.ndarray
    scene_cut: bool
    trusted_fraction: float


class Stabilizer:
    """Feed it source frames and their fresh stylizations in order; it returns the stable output frames.

    ``blend`` is the weight of the warped previous output on trusted pixels (0 turns stabilization off;
    0.7 cuts the warping error by well over half on our test clips while new detail still comes through).
    """

    def __init__(self, *, blend: float = 0.7, flow_side: int = 320) -> None:
        if not 0 <= blend < 1:
            msg = f"blend must be in [0, 1), got {blend}"
            raise ValueError(msg)
        self.blend = blend
        self._flow = FlowEstimator(flow_side=flow_side)
        self._previous_grey: np.ndarray | None = None
        self._previous_output: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous frame (the next frame is taken fresh)."""
        self._previous_grey = None
        self._previous_output = None

    def step(self, source: np.ndarray, stylized: np.ndarray) -> StabilizeStep:
        """Return the output for ``source`` (``[H, W, 3]`` uint8) given its fresh stylization (same size)."""
        grey = self._flow.grey(source)
        fresh = stylized.astype(np.float32)
        previous_grey, previous_output = self._previous_grey, self._previous_output
        self._previous_grey = grey
        if previous_grey is None or previous_output is None or previous_grey.shape != grey.shape:
            self._previous_output = fresh
            return StabilizeStep(stylized, scene_cut=False, trusted_fraction=0.0)
        height, width = stylized.shape[:2]
        motion = self._flow.motion(previous_grey, grey, (width, height))
        if motion.trusted_fraction < CUT_TRUSTED_FRACTION:
            self._previous_output = fresh
            return StabilizeStep(stylized, scene_cut=True, trusted_fraction=motion.trusted_fraction)
        carried = warp(previous_output, motion.backward)
        weight = (self.blend * motion.trusted)[..., None]
        output = fresh + weight * (carried - fresh)
        self._previous_output = output
        frame = np.clip(output + 0.5, 0, 255).astype(np.uint8)
        return StabilizeStep(frame, scene_cut=False, trusted_fraction=motion.trusted_fraction)
