"""Frames stylized several at a time come out in order, identical to one at a time, and errors surface."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_style.hardware import usable_cores
from neural_style.loading import load_model, multistyle_model_path
from neural_style.stylizer import Stylizer
from neural_style.video import Stabilizer, probe, stylize_video
from neural_style.video.frames import decode_frames
from neural_style.video.parallel import MAX_FRAME_THREADS, split_cores, stylized_in_order
from neural_style.video.synthetic import ClipSpec, draw_frame, make_clip

SPEC = ClipSpec(width=64, height=48, seconds=0.7, cut_at=12)


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    return load_model(multistyle_model_path(), style=3, threads=1)


@pytest.fixture(scope="module")
def sources() -> list[np.ndarray]:
    return [draw_frame(SPEC, i) for i in range(SPEC.frame_count)]


class _Jittery(Stylizer):
    """Finishes frames out of order: each call sleeps a different, pseudo-random while."""

    def __init__(self, inner: Stylizer) -> None:
        self.inner = inner
        self.calls = 0
        self.lock = threading.Lock()

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        with self.lock:
            self.calls += 1
            delay = (self.calls * 7919) % 5 / 500
        time.sleep(delay)
        return self.inner.stylize_array(rgb)


@pytest.mark.parametrize("frame_threads", [2, 3])
def test_parallel_frames_match_one_at_a_time(
    stylizer: Stylizer, sources: list[np.ndarray], frame_threads: int
) -> None:
    one = list(stylized_in_order(stylizer, sources, Stabilizer()))
    many = list(stylized_in_order(_Jittery(stylizer), sources, Stabilizer(), frame_threads=frame_threads))
    assert len(many) == len(one)
    assert all(np.array_equal(a, b) for a, b in zip(one, many, strict=True))


def test_without_a_stabilizer_frames_are_the_fresh_stylizations(
    stylizer: Stylizer, sources: list[np.ndarray]
) -> None:
    outputs = list(stylized_in_order(stylizer, sources[:5], None, frame_threads=2))
    assert all(np.array_equal(o, stylizer.stylize_array(s)) for o, s in zip(outputs, sources, strict=False))


class _FailsAt(Stylizer):
    def __init__(self, inner: Stylizer, bad: int) -> None:
        self.inner, self.bad, self.calls = inner, bad, 0
        self.lock = threading.Lock()

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        with self.lock:
            self.calls += 1
            number = self.calls
        if number == self.bad:
            msg = "the network broke"
            raise RuntimeError(msg)
        return self.inner.stylize_array(rgb)


def test_an_error_in_a_frame_is_raised_in_order(stylizer: Stylizer, sources: list[np.ndarray]) -> None:
    outputs = stylized_in_order(_FailsAt(stylizer, 4), sources, Stabilizer(), frame_threads=2)
    got: list[np.ndarray] = []
    with pytest.raises(RuntimeError, match="the network broke"):
        got.extend(outputs)
    assert len(got) == 3


def test_frames_after_an_error_are_not_stylized(stylizer: Stylizer, sources: list[np.ndarray]) -> None:
    failing = _FailsAt(stylizer, 2)
    with pytest.raises(RuntimeError):
        list(stylized_in_order(failing, sources, None, frame_threads=2))
    assert failing.calls <= 4  # the failed frame, and at most the frames already in flight


@pytest.mark.parametrize("frame_threads", [0, -1])
def test_fewer_than_one_frame_thread_is_refused_when_called(
    stylizer: Stylizer, sources: list[np.ndarray], frame_threads: int
) -> None:
    with pytest.raises(ValueError, match="frame_threads"):
        stylized_in_order(stylizer, sources, None, frame_threads=frame_threads)


def test_opencv_threads_are_put_back_afterwards(stylizer: Stylizer, sources: list[np.ndarray]) -> None:
    before = cv2.getNumThreads()
    seen: list[int] = []

    class Watching(Stylizer):
        def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
            seen.append(cv2.getNumThreads())
            return stylizer.stylize_array(rgb)

    list(stylized_in_order(Watching(), sources[:4], Stabilizer(), frame_threads=2))
    assert set(seen) == {1}
    assert cv2.getNumThreads() == before


def test_usable_cores_is_at_least_one() -> None:
    assert usable_cores() >= 1


@given(cores=st.integers(-2, 512))
def test_cores_split_into_frames_and_threads_never_oversubscribe(cores: int) -> None:
    frames, threads = split_cores(cores)
    assert 1 <= frames <= MAX_FRAME_THREADS
    assert threads >= 1
    assert frames * threads <= max(cores, 1)


@pytest.mark.parametrize("cores", [1, 2, 3, MAX_FRAME_THREADS])
def test_a_few_cores_get_a_frame_each_on_one_thread(cores: int) -> None:
    assert split_cores(cores) == (cores, 1)


def test_a_clip_stylized_with_frame_threads_decodes_to_the_same_frames(
    tmp_path: Path, stylizer: Stylizer
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", SPEC)
    one = stylize_video(clip, tmp_path / "one.mp4", stylizer)
    two = stylize_video(clip, tmp_path / "two.mp4", stylizer, frame_threads=2)
    size = (SPEC.width, SPEC.height)
    first, second = (list(decode_frames(probe(p), 0, SPEC.frame_count, size)) for p in (one, two))
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
