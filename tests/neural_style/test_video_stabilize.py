"""Stabilization against flicker without ghosts, measured with the documented metrics on generated clips."""

from __future__ import annotations

import numpy as np
import pytest

from neural_style.loading import load_model, multistyle_model_path
from neural_style.video import Stabilizer, metrics
from neural_style.video.synthetic import ClipSpec, draw_frame

CUT = 25


@pytest.fixture(scope="module")
def clip() -> dict[str, list[np.ndarray]]:
    """Source frames (moving shapes over a panning texture, a cut), per-frame and stabilized stylizations."""
    spec = ClipSpec(width=96, height=72, seconds=1.5, cut_at=CUT)
    sources = [draw_frame(spec, i) for i in range(spec.frame_count)]
    stylizer = load_model(multistyle_model_path(), style=3, threads=1)
    fresh = [stylizer.stylize_array(frame) for frame in sources]
    stabilizer = Stabilizer()
    steps = [stabilizer.step(source, frame) for source, frame in zip(sources, fresh, strict=True)]
    return {
        "sources": sources,
        "fresh": fresh,
        "ours": [step.frame for step in steps],
        "cuts": [i for i, step in enumerate(steps) if step.scene_cut],
    }


@pytest.fixture(scope="module")
def motion(clip: dict[str, list[np.ndarray]]) -> metrics.ClipMotion:
    return metrics.measure_motion(clip["sources"])


def test_warping_error_is_at_least_halved(
    clip: dict[str, list[np.ndarray]], motion: metrics.ClipMotion
) -> None:
    independent = metrics.warping_error(clip["fresh"], motion)
    assert metrics.warping_error(clip["ours"], motion) <= 0.5 * independent


SMOOTHING = [i / 20 for i in range(20)]  # the peer's --smooth from 0 to 0.95


def test_no_moving_average_is_as_steady_with_less_ghosting(
    clip: dict[str, list[np.ndarray]], motion: metrics.ClipMotion
) -> None:
    ours_flicker = metrics.flicker(clip["ours"], motion)
    ours_ghosting = metrics.ghosting(clip["ours"], clip["fresh"], motion)
    for smooth in SMOOTHING:
        ema = metrics.moving_average(clip["fresh"], smooth)
        steadier = metrics.flicker(ema, motion) <= ours_flicker
        assert not steadier or metrics.ghosting(ema, clip["fresh"], motion) > ours_ghosting, smooth


def test_scene_cut_is_detected_where_it_is(clip: dict[str, list[np.ndarray]]) -> None:
    assert clip["cuts"] == [CUT]


def test_nothing_is_blended_across_a_cut(clip: dict[str, list[np.ndarray]]) -> None:
    assert np.array_equal(clip["ours"][CUT], clip["fresh"][CUT])


def test_first_frame_is_the_fresh_stylization(clip: dict[str, list[np.ndarray]]) -> None:
    assert np.array_equal(clip["ours"][0], clip["fresh"][0])


def test_blend_zero_gives_independent_frames() -> None:
    rng = np.random.default_rng(0)
    stabilizer = Stabilizer(blend=0.0)
    frames = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(3)]
    for frame in frames:
        assert np.array_equal(stabilizer.step(frame, frame[::-1].copy()).frame, frame[::-1])


@pytest.mark.parametrize("blend", [-0.1, 1.0])
def test_blend_outside_unit_range_is_refused(blend: float) -> None:
    with pytest.raises(ValueError, match="blend"):
        Stabilizer(blend=blend)


def test_still_frames_score_no_flicker() -> None:
    frame = draw_frame(ClipSpec(), 0)
    motion = metrics.measure_motion([frame, frame, frame])
    assert metrics.warping_error([frame, frame, frame], motion) == pytest.approx(0.0, abs=1e-3)


def test_moving_average_matches_the_peers_formula() -> None:
    a = np.full((2, 2, 3), 100, np.uint8)
    b = np.full((2, 2, 3), 200, np.uint8)
    out = metrics.moving_average([a, b], 0.5)
    assert out[1][0, 0, 0] == 150
