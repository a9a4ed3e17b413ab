"""Segments: planned at keyframes, stylized independently (resumable), joined by stream copy."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_style.loading import load_model, multistyle_model_path
from neural_style.stylizer import Stylizer
from neural_style.video import Segment, VideoInfo, join_segments, plan_segments, probe, stylize_segment
from neural_style.video.frames import decode_frames, output_size
from neural_style.video.metrics import ClipMotion, measure_motion, warping_error
from neural_style.video.synthetic import ClipSpec, make_clip

SPEC = ClipSpec(seconds=2.0, keyframe_interval=10)


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    return load_model(multistyle_model_path(), style=5, threads=1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", SPEC)


@pytest.fixture(scope="module")
def segments(clip: Path) -> list[Segment]:
    return plan_segments(probe(clip), seconds=0.5, overlap=6)


@pytest.fixture(scope="module")
def joined(
    clip: Path, segments: list[Segment], stylizer: Stylizer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    folder = tmp_path_factory.mktemp("parts")
    parts = [(s, stylize_segment(clip, s, stylizer, folder / s.name)) for s in segments]
    return join_segments(parts[::-1], clip, folder / "joined.mp4")


def test_segments_start_at_keyframes_and_cover_every_frame(clip: Path, segments: list[Segment]) -> None:
    info = probe(clip)
    assert len(segments) > 1
    assert all(s.start in info.keyframes for s in segments)
    covered = [i for s in segments for i in range(s.start, s.stop)]
    assert covered == list(range(info.frame_count))


def test_segments_after_the_first_overlap_the_one_before(segments: list[Segment]) -> None:
    assert segments[0].overlap == 0
    assert all(s.overlap == 6 for s in segments[1:])


def test_joined_clip_has_every_frame_at_its_time(clip: Path, joined: Path) -> None:
    source, output = probe(clip), probe(joined)
    assert [p * output.time_base for p in output.frame_pts] == [
        p * source.time_base for p in source.frame_pts
    ]


def test_join_copies_packets_without_reencoding(joined: Path) -> None:
    parts = sorted(joined.parent.glob("part-*.mp4"))
    expected = []
    for part in parts:
        with av.open(str(part)) as container:
            expected += [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]
    with av.open(str(joined)) as container:
        assert [bytes(p) for p in container.demux(container.streams.video[0]) if p.size] == expected


def test_no_jump_at_segment_boundaries(clip: Path, joined: Path, segments: list[Segment]) -> None:
    info = probe(joined)
    size = (info.width, info.height)
    frames = list(decode_frames(info, 0, info.frame_count, size))
    sources = list(decode_frames(probe(clip), 0, info.frame_count, size))
    motion = measure_motion(sources)
    errors = [
        warping_error(frames[i : i + 2], ClipMotion(motion.motions[i : i + 1], 0.0))
        for i in range(len(frames) - 1)
    ]
    boundaries = [s.start - 1 for s in segments[1:]]
    inside = np.median([e for i, e in enumerate(errors) if i not in boundaries])
    assert max(errors[i] for i in boundaries) <= 2.0 * inside


def test_finished_segment_is_skipped(
    tmp_path: Path, clip: Path, segments: list[Segment], stylizer: Stylizer
) -> None:
    done = tmp_path / segments[0].name
    done.write_bytes(b"finished earlier")
    assert stylize_segment(clip, segments[0], stylizer, done) == done
    assert done.read_bytes() == b"finished earlier"


class _Counting(Stylizer):
    def __init__(self, inner: Stylizer) -> None:
        self.inner, self.frames = inner, 0

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        self.frames += 1
        return self.inner.stylize_array(rgb)


_WORKER = """
import sys, time
from pathlib import Path
from neural_style.loading import load_model, multistyle_model_path
from neural_style.video import plan_segments, probe, stylize_segment

class Slow:
    def __init__(self, inner):
        self.inner = inner
    def stylize_array(self, rgb):
        time.sleep(0.05)
        return self.inner.stylize_array(rgb)

clip, folder = Path(sys.argv[1]), Path(sys.argv[2])
info = probe(clip)
stylizer = Slow(load_model(multistyle_model_path(), style=5, threads=1))
for segment in plan_segments(info, seconds=0.5, overlap=6):
    stylize_segment(info, segment, stylizer, folder / segment.name)
"""


@pytest.mark.slow
def test_rerun_after_a_kill_redoes_only_unfinished_segments(
    tmp_path: Path, clip: Path, segments: list[Segment], stylizer: Stylizer
) -> None:
    worker = subprocess.Popen([sys.executable, "-c", _WORKER, str(clip), str(tmp_path)])
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / segments[1].name).exists():
            assert worker.poll() is None, "the worker ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    finished = sorted(p.name for p in tmp_path.glob("part-*.mp4"))
    assert len(finished) < len(segments)
    stamps = {name: (tmp_path / name).stat().st_mtime_ns for name in finished}
    counting = _Counting(stylizer)
    parts = [(s, stylize_segment(clip, s, counting, tmp_path / s.name)) for s in segments]
    redone = [s for s in segments if s.name not in finished]
    assert counting.frames == sum(s.stop - s.start + s.overlap for s in redone)
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in finished} == stamps
    out = join_segments(parts, clip, tmp_path / "out.mp4")
    assert probe(out).frame_count == probe(clip).frame_count


@given(
    width=st.integers(2, 8000),
    height=st.integers(2, 8000),
    max_size=st.one_of(st.none(), st.integers(16, 4096)),
)
def test_output_size_is_even_and_capped(width: int, height: int, max_size: int | None) -> None:
    out_w, out_h = output_size(width, height, max_size)
    assert out_w % 2 == 0
    assert out_h % 2 == 0
    assert out_w <= max(width, 2)
    assert out_h <= max(height, 2)
    if max_size is not None:
        assert max(out_w, out_h) <= max(max_size, 2)


@given(seconds=st.floats(0.05, 5.0), overlap=st.integers(0, 20))
def test_plans_cover_the_clip_once(info: VideoInfo, seconds: float, overlap: int) -> None:
    plan = plan_segments(info, seconds, overlap=overlap)
    assert [i for s in plan for i in range(s.start, s.stop)] == list(range(info.frame_count))
    assert all(s.overlap <= min(overlap, s.start) for s in plan)


@pytest.fixture(scope="module")
def info(clip: Path) -> VideoInfo:
    return probe(clip)
