"""Warping by a flow field, and the motion checks, behave as their definitions say."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_style.video.flow import FlowEstimator, sample_points, warp
from neural_style.video.synthetic import ClipSpec, draw_frame


def _warp_by_meshgrid(image: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """The definition: sample at (x + u, y + v) with two separate coordinate maps."""
    height, width = backward.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(
        image,
        grid_x + backward[..., 0],
        grid_y + backward[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


@settings(max_examples=30, deadline=None)
@given(
    height=st.integers(2, 40),
    width=st.integers(2, 40),
    channels=st.sampled_from([1, 2, 3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_warp_samples_where_the_flow_points(height: int, width: int, channels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 1 else (height, width, channels)
    image = rng.random(shape, dtype=np.float32) * 255
    backward = rng.normal(0, 4, (height, width, 2)).astype(np.float32)
    assert np.array_equal(warp(image, backward), _warp_by_meshgrid(image, backward))


def test_zero_flow_warps_to_the_same_image() -> None:
    image = draw_frame(ClipSpec(), 3)
    assert np.array_equal(warp(image, np.zeros((*image.shape[:2], 2), np.float32)), image)


def test_sample_points_leave_the_flow_untouched() -> None:
    backward = np.ones((4, 5, 2), np.float32)
    points = sample_points(backward)
    assert np.array_equal(backward, np.ones((4, 5, 2), np.float32))
    assert points[3, 4].tolist() == [5.0, 4.0]


def test_still_frames_are_trusted_everywhere_and_matched() -> None:
    estimator = FlowEstimator()
    grey = estimator.grey(draw_frame(ClipSpec(width=96, height=72), 0))
    motion = estimator.motion(grey, grey, (96, 72))
    assert motion.matched_fraction == 1.0
    assert motion.trusted_fraction == 1.0


def test_another_scene_is_not_matched() -> None:
    spec = ClipSpec(width=96, height=72, cut_at=1)
    estimator = FlowEstimator()
    before, after = (estimator.grey(draw_frame(spec, i)) for i in (0, 1))
    assert estimator.motion(before, after, (96, 72)).matched_fraction < 0.5


def test_motion_is_given_at_the_frame_size_when_flow_runs_smaller() -> None:
    spec = ClipSpec(width=128, height=96)
    estimator = FlowEstimator(flow_side=64)
    before, after = (estimator.grey(draw_frame(spec, i)) for i in (0, 1))
    motion = estimator.motion(before, after, (128, 96))
    assert motion.backward.shape == (96, 128, 2)
    assert motion.trusted.shape == (96, 128)
    assert 0.0 <= float(motion.trusted.min()) <= float(motion.trusted.max()) <= 1.0
