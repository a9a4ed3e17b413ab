"""The ``video`` command and ``stylize_video``: timing, rotation and audio kept; bad input refused cleanly."""

from __future__ import annotations

import logging
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import pytest

from neural_style.cli import main
from neural_style.loading import load_model, multistyle_model_path
from neural_style.stylizer import Stylizer
from neural_style.video import VideoInputError, probe, stylize_video
from neural_style.video.synthetic import ClipSpec, make_clip


@pytest.fixture(scope="module")
def model() -> Path:
    return multistyle_model_path()


@pytest.fixture(scope="module")
def stylizer(model: Path) -> Stylizer:
    return load_model(model, style=3, threads=1)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = ClipSpec(seconds=1.0, cut_at=18, rotation=90, audio_streams=2)
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", spec)


@pytest.fixture(scope="module")
def stylized(clip: Path, stylizer: Stylizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stylize_video(clip, tmp_path_factory.mktemp("out") / "out.mp4", stylizer)


def _audio_packets(path: Path) -> list[list[tuple[int | None, bytes]]]:
    with av.open(str(path)) as container:
        streams = container.streams.audio
        packets: list[list[tuple[int | None, bytes]]] = [[] for _ in streams]
        for packet in container.demux(*streams):
            if packet.size:
                packets[packet.stream.index - streams[0].index].append((packet.pts, bytes(packet)))
        return packets


def _video_codec(path: Path) -> tuple[str, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.codec_context.name, stream.codec_context.pix_fmt


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_output_keeps_every_frame_timestamp(clip: Path, stylized: Path) -> None:
    source, output = probe(clip), probe(stylized)
    assert output.frame_count == source.frame_count
    times = [pts * source.time_base for pts in source.frame_pts]
    assert [pts * output.time_base for pts in output.frame_pts] == times


def test_output_duration_is_within_one_frame(clip: Path, stylized: Path) -> None:
    source, output = probe(clip), probe(stylized)
    assert abs(output.duration - source.duration) <= 1 / 30


def test_output_keeps_rotation(stylized: Path) -> None:
    assert probe(stylized).rotation == 90


def test_every_audio_stream_is_copied_unchanged(clip: Path, stylized: Path) -> None:
    original = _audio_packets(clip)
    assert len(original) == 2
    assert _audio_packets(stylized) == original


def test_output_is_h264_yuv420p(stylized: Path) -> None:
    assert _video_codec(stylized) == ("h264", "yuv420p")


def test_variable_frame_rate_is_kept(tmp_path: Path, stylizer: Stylizer) -> None:
    times = [0.0, 0.04, 0.07, 0.15, 0.16, 0.30, 0.31, 0.33, 0.50, 0.52]
    clip = make_clip(tmp_path / "vfr.mp4", ClipSpec(frame_times=times, audio=False))
    out = stylize_video(clip, tmp_path / "out.mp4", stylizer)
    info = probe(out)
    seconds = [float(pts * info.time_base) for pts in info.frame_pts]
    assert seconds == pytest.approx(times, abs=1e-4)


def test_odd_sides_become_even(tmp_path: Path, stylizer: Stylizer) -> None:
    clip = make_clip(
        tmp_path / "odd.mp4", ClipSpec(width=67, height=49, seconds=0.3, audio=False, codec="mpeg4")
    )
    info = probe(stylize_video(clip, tmp_path / "out.mp4", stylizer))
    assert (info.width, info.height) == (66, 48)


def test_huge_frames_are_capped_by_max_size_and_it_says_so(
    tmp_path: Path, stylizer: Stylizer, caplog: pytest.LogCaptureFixture
) -> None:
    clip = make_clip(tmp_path / "big.mp4", ClipSpec(seconds=0.2, audio=False))
    with caplog.at_level(logging.WARNING, logger="neural_style.video"):
        info = probe(stylize_video(clip, tmp_path / "out.mp4", stylizer, max_size=32))
    assert (info.width, info.height) == (32, 24)
    assert "--max-size 32" in caplog.text


def test_crf_sets_quality(tmp_path: Path, clip: Path, stylizer: Stylizer) -> None:
    fine = stylize_video(clip, tmp_path / "fine.mp4", stylizer, crf=10)
    coarse = stylize_video(clip, tmp_path / "coarse.mp4", stylizer, crf=40)
    assert coarse.stat().st_size < fine.stat().st_size


def test_command_writes_the_clip(tmp_path: Path, clip: Path, model: Path) -> None:
    out = tmp_path / "cli.mp4"
    assert (
        main(["video", "--input", str(clip), "--output", str(out), "--model", str(model), "--style", "2"])
        == 0
    )
    assert probe(out).frame_count == probe(clip).frame_count
    assert _listing(tmp_path) == ["cli.mp4"]


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    tmp_path: Path, clip: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["video", "--input", str(clip), "--output", str(tmp_path / "o.mp4"), "--model", str(model)]) == 0
    )
    assert capsys.readouterr().err == ""


def test_no_stabilize_keeps_every_frame(tmp_path: Path, clip: Path, model: Path) -> None:
    out = tmp_path / "plain.mp4"
    args = ["video", "--input", str(clip), "--output", str(out), "--model", str(model), "--no-stabilize"]
    assert main(args) == 0
    assert probe(out).frame_count == probe(clip).frame_count


def _run(tmp_path: Path, model: Path, source: Path, *extra: str) -> int:
    args = ["video", "--input", str(source), "--output", str(tmp_path / "out.mp4"), "--model", str(model)]
    return main([*args, *extra])


def test_not_a_video_exits_4_and_writes_nothing(
    tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "notes.mp4"
    source.write_text("not a video\n")
    assert _run(tmp_path, model, source) == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not a video" in err
    assert _listing(tmp_path) == ["notes.mp4"]


def test_missing_input_exits_3(tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, model, tmp_path / "absent.mp4") == 3
    assert "no such video file" in capsys.readouterr().err
    assert _listing(tmp_path) == []


def test_audio_only_file_exits_4(tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "tone.m4a"
    with av.open(str(source), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100, layout="mono")
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.sample_rate = 44100
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    assert _run(tmp_path, model, source) == 4
    assert "has no video stream" in capsys.readouterr().err
    assert _listing(tmp_path) == ["tone.m4a"]


def test_truncated_file_exits_4_and_writes_nothing(tmp_path: Path, clip: Path, model: Path) -> None:
    data = clip.read_bytes()
    source = tmp_path / "cut.mp4"
    source.write_bytes(data[: len(data) // 2])
    assert _run(tmp_path, model, source) == 4
    assert _listing(tmp_path) == ["cut.mp4"]


def test_existing_output_exits_2_and_is_kept(tmp_path: Path, clip: Path, model: Path) -> None:
    (tmp_path / "out.mp4").write_bytes(b"keep")
    assert _run(tmp_path, model, clip) == 2
    assert (tmp_path / "out.mp4").read_bytes() == b"keep"


def test_output_must_be_mp4(tmp_path: Path, clip: Path, model: Path) -> None:
    args = ["video", "--input", str(clip), "--output", str(tmp_path / "out.avi"), "--model", str(model)]
    assert main(args) == 2
    assert _listing(tmp_path) == []


@pytest.mark.parametrize("flag", [["--crf", "52"], ["--max-size", "8"]])
def test_out_of_range_flags_are_usage_errors(
    tmp_path: Path, clip: Path, model: Path, flag: list[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _run(tmp_path, model, clip, *flag)
    assert exit_info.value.code == 2


def test_bad_model_exits_4(tmp_path: Path, clip: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not a model")
    assert _run(tmp_path, model, clip) == 4
    assert _listing(tmp_path) == ["model.onnx"]


def test_probe_reads_timing(clip: Path) -> None:
    info = probe(clip)
    assert info.frame_count == 30
    assert info.time_base == Fraction(1, 15360)
    assert info.keyframes[0] == 0
    assert info.audio_streams == 2


def test_probe_refuses_a_text_file(tmp_path: Path) -> None:
    source = tmp_path / "a.mkv"
    source.write_text("x")
    with pytest.raises(VideoInputError, match="not a video"):
        probe(source)


def test_frames_too_small_to_stylize_exit_4(tmp_path: Path, clip: Path, model: Path) -> None:
    assert _run(tmp_path, model, clip, "--max-size", "16") == 4
    assert _listing(tmp_path) == []


def test_command_line_starts_without_the_video_libraries() -> None:
    code = (
        "import sys, neural_style.cli as c; c.build_parser(); print(sorted({'av', 'cv2'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
