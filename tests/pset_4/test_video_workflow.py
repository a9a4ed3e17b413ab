"""Videos through ``python -m pset_4``: segments on the remote, audio kept, resumable, bad input refused."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import luigi
import pytest

from csci_utils.exit_codes import ExitCode
from neural_style.video import probe
from neural_style.video.synthetic import ClipSpec, make_clip
from pset_4.cli import main
from pset_4.contact_sheet import frame_strip
from pset_4.settings import configured
from pset_4.tasks import video as video_tasks
from pset_4.tasks.contact_sheet import ContactSheet
from pset_4.tasks.video import StylizeVideo, is_video

CLIP = ClipSpec(seconds=2.5, keyframe_interval=10)  # 75 frames, keyframes every 1/3 s: 3 segments of 1 s


def _lines(text: str, prefix: str) -> list[str]:
    return [line.removeprefix(prefix) for line in text.splitlines() if line.startswith(prefix)]


def _parts_done(err: str) -> set[str]:
    """The segments a run stylized, from its progress lines (``clip.mp4 part 2/3: ... 30/30 done``)."""
    found = re.findall(r"(\S+ part \d+)/\d+: frames \d+-\d+ of \d+: (\d+)/(\d+) done", err)
    return {part for part, done, total in found if done == total}


@pytest.fixture
def one_second_segments() -> Iterator[None]:
    with configured(segment_seconds=1.0):
        yield


@pytest.fixture
def remote(roots, multistyle, one_second_segments):
    """A 2.5 s clip with a tone and the 26-style model on the remote."""
    roots.remote_images.mkdir(parents=True)
    make_clip(roots.remote_images / "clip.mp4", CLIP)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    return roots


def _audio_packets(path: str | Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def test_a_video_name_is_told_by_its_suffix() -> None:
    assert is_video("clip.MP4")
    assert is_video("a.mkv")
    assert not is_video("photo.jpg")


def test_a_clip_through_the_workflow_keeps_its_frame_count_and_audio(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["-i", "clip.mp4", "-m", "multi.onnx", "--style", "3", "--no-contact-sheet"])
    out = capsys.readouterr().out
    assert code == 0
    (published,) = _lines(out, "published: ")
    assert published.endswith(".mp4")
    result, source = probe(published), probe(remote.remote_images / "clip.mp4")
    assert result.frame_count == source.frame_count
    assert result.audio_streams == 1
    assert _audio_packets(published) == _audio_packets(remote.remote_images / "clip.mp4")


def test_each_segment_is_published_on_the_remote(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "clip.mp4", "-m", "multi.onnx", "--style", "3", "--no-contact-sheet"]) == 0
    (folder,) = (remote.remote / "stylized" / "segments").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["part-00000.mp4", "part-00001.mp4", "part-00002.mp4"]
    assert len(list((remote.remote / "stylized" / "plans").iterdir())) == 1


def test_progress_lines_count_the_frames_of_each_segment(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "clip.mp4", "-m", "multi.onnx", "--no-contact-sheet"]) == 0
    err = capsys.readouterr().err
    assert _parts_done(err) == {"clip.mp4 part 1", "clip.mp4 part 2", "clip.mp4 part 3"}
    assert re.search(r"frames 0-29 of 75: 30/30 done, [\d.]+ frames/s", err)


def test_a_segment_reports_its_last_frame_once(monkeypatch, caplog) -> None:
    # Every frame is "late" for the periodic line: the final frame must still be reported exactly once.
    monkeypatch.setattr(video_tasks, "_PROGRESS_EVERY_S", 0.0)
    with (
        caplog.at_level(logging.INFO, logger=video_tasks.log.name),
        video_tasks.progress_reporter("clip.mp4 part 1/1", 3, first=0, total=3) as advance,
    ):
        for _ in range(3):
            advance(1)
    done_lines = [r.getMessage() for r in caplog.records if "3/3 done" in r.getMessage()]
    assert len(done_lines) == 1
    assert len([r for r in caplog.records if "done," in r.getMessage()]) == 3


def test_a_rerun_stylizes_nothing(remote, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["-i", "clip.mp4", "-m", "multi.onnx", "--style", "3", "--no-contact-sheet"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "1 of them already done" in out
    assert _parts_done(err) == set()


def _run_pset_4(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pset_4 ARGS`` in a fresh process (Luigi forks workers; this one has models loaded)."""
    config = tmp_path / "video.cfg"
    config.write_text("[pset_4_video]\nsegment_seconds = 1\n")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(config), "PSET4_ENGINE_THREADS": "1"}
    argv = [sys.executable, "-m", "pset_4", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_two_workers_share_the_segments_of_a_clip(remote, tmp_path: Path) -> None:
    run = _run_pset_4(tmp_path, "-i", "clip.mp4", "-m", "multi.onnx", "--workers", "2", "--no-contact-sheet")
    assert run.returncode == 0, run.stderr
    assert _parts_done(run.stderr) == {"clip.mp4 part 1", "clip.mp4 part 2", "clip.mp4 part 3"}
    (published,) = _lines(run.stdout, "published: ")
    assert probe(published).frame_count == CLIP.frame_count


def test_the_contact_sheet_shows_a_strip_of_frames_for_a_video(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-i", "clip.mp4", "-m", "multi.onnx", "--style", "3"]) == 0
    assert len(_lines(capsys.readouterr().out, "contact sheet: ")) == 1
    ((source, result),) = ContactSheet(pairs=[["clip.mp4", "multi.onnx", "3"]]).rows()
    assert source.image is not None
    assert source.image.size == (CLIP.width, CLIP.height)  # the clip's first frame
    assert result.image is not None
    assert result.image.size == (4 * CLIP.width, CLIP.height)  # four frames of the result


def test_the_gallery_shows_a_video_with_a_poster_strip_and_a_player(remote) -> None:
    from PIL import Image

    assert main(["-i", "clip.mp4", "-m", "multi.onnx", "--style", "3"]) == 0
    page = (remote.remote / "gallery" / "index.html").read_text(encoding="utf-8")
    players = re.findall(r'<video controls preload="none" poster="thumbs/([^"]+)" src="\.\./([^"]+)"', page)
    assert players[0][1] == "images/clip.mp4"  # the source clip first
    ((poster, video),) = [player for player in players if player[1].startswith("stylized/")]
    assert video.startswith("stylized/clip--multi--s3--")
    assert (remote.remote / video).is_file()
    with Image.open(remote.remote / "gallery" / "thumbs" / poster) as strip:
        assert strip.width > 3 * strip.height  # four frames side by side


def test_a_frame_strip_puts_evenly_spaced_frames_side_by_side(remote) -> None:
    strip = frame_strip((remote.remote_images / "clip.mp4").read_bytes(), frames=4)
    assert strip.size == (4 * CLIP.width, CLIP.height)


def test_a_frame_strip_of_something_that_is_no_video_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a readable video"):
        frame_strip(b"not a video at all")


@pytest.mark.parametrize(
    ("name", "content"),
    [("notavideo.mp4", b"just some text\n"), ("truncated.mp4", None)],
)
def test_a_bad_video_fails_in_one_line_publishes_nothing_and_the_rest_is_done(
    remote, capsys: pytest.CaptureFixture[str], name: str, content: bytes | None
) -> None:
    whole = (remote.remote_images / "clip.mp4").read_bytes()
    (remote.remote_images / name).write_bytes(content if content is not None else whole[: len(whole) // 3])
    code = main(["-i", name, "-i", "clip.mp4", "-m", "multi.onnx", "--style", "3"])
    out, err = capsys.readouterr()
    assert code == ExitCode.BAD_INPUT
    assert _lines(err, "SKIPPED: ") == [str(remote.remote_images / name)]
    (reason,) = _lines(err, "  reason: ")
    assert name in reason
    assert "Traceback" not in err
    published = _lines(out, "published: ")
    assert len(published) == 1
    assert "clip--" in published[0]
    assert len(_lines(out, "contact sheet: ")) == 1
    stylized = remote.remote / "stylized"
    assert not [p for p in stylized.rglob("*") if p.name.startswith(Path(name).stem)]


def test_max_size_caps_a_large_clip_and_says_so(remote, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-i", "clip.mp4", "-m", "multi.onnx", "--max-size", "32", "--no-contact-sheet"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "clip.mp4 is 64x48; stylizing at 32x24 (--max-size 32)" in err
    (published,) = _lines(out, "published: ")
    result = probe(published)
    assert (result.width, result.height) == (32, 24)


def test_a_max_size_below_16_is_a_usage_error(remote, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["-i", "clip.mp4", "-m", "multi.onnx", "--max-size", "8"])
    assert exit_info.value.code == 2
    assert "--max-size must be at least 16" in capsys.readouterr().err


def test_a_video_with_no_publish_is_a_usage_error(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "clip.mp4", "-m", "multi.onnx", "--no-publish"]) == 2
    assert "needs publishing" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_killed_mid_clip_resumes_without_redoing_finished_segments(
    roots, multistyle, tmp_path: Path
) -> None:
    # Large enough frames that one segment takes a while, so the run is caught between segments.
    roots.remote_images.mkdir(parents=True)
    make_clip(
        roots.remote_images / "big.mp4", ClipSpec(width=320, height=240, seconds=3.0, keyframe_interval=10)
    )
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    config = tmp_path / "video.cfg"
    config.write_text("[pset_4_video]\nsegment_seconds = 1\n")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(config), "PSET4_ENGINE_THREADS": "1"}
    argv = [sys.executable, "-m", "pset_4", "-i", "big.mp4", "-m", "multi.onnx", "--no-contact-sheet"]
    first = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    segments = roots.remote / "stylized" / "segments"
    deadline = time.monotonic() + 120
    while not any(segments.glob("*/part-*.mp4")):
        assert first.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline, "no segment ever appeared"
        time.sleep(0.01)
    first.kill()
    first.communicate(timeout=30)
    finished = {path: path.stat().st_mtime_ns for path in segments.glob("*/part-*.mp4")}
    assert len(finished) < 3, "every segment was done before the kill"
    assert not list((roots.remote / "stylized").glob("*.mp4"))  # nothing published for the clip yet
    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    redone = {f"part-{int(part.split()[-1]) - 1:05d}.mp4" for part in _parts_done(rerun.stderr)}
    assert redone == {f"part-{i:05d}.mp4" for i in range(3)} - {path.name for path in finished}
    assert {path: path.stat().st_mtime_ns for path in finished} == finished  # never rewritten
    (published,) = _lines(rerun.stdout, "published: ")
    assert probe(published).frame_count == 90


@pytest.mark.slow
def test_a_join_task_scheduled_before_its_plan_runs_its_segments_as_dynamic_requirements(remote) -> None:
    task = StylizeVideo(image="clip.mp4", model="multi.onnx", style="3")
    assert "segments" not in task.requires()
    assert luigi.build([task], local_scheduler=True, log_level="CRITICAL")
    assert probe(task.output().path).frame_count == CLIP.frame_count
    (folder,) = (remote.remote / "stylized" / "segments").iterdir()
    assert len(list(folder.iterdir())) == 3


@pytest.mark.slow
def test_a_clip_through_an_s3_remote(remote, s3_bucket: str, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3

    client = boto3.client("s3")
    client.upload_file(str(remote.remote_images / "clip.mp4"), s3_bucket, "pset_4/images/clip.mp4")
    client.upload_file(str(remote.remote_models / "multi.onnx"), s3_bucket, "pset_4/saved_models/multi.onnx")
    root = f"s3://{s3_bucket}/pset_4"
    code = main(["--remote", root, "-i", "clip.mp4", "-m", "multi.onnx", "--no-contact-sheet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (published,) = _lines(out, "published: ")
    assert published.startswith(f"{root}/stylized/")
    assert published.endswith(".mp4")
    keys = [
        o["Key"]
        for o in client.list_objects_v2(Bucket=s3_bucket, Prefix="pset_4/stylized/segments/")["Contents"]
    ]
    assert len(keys) == 3


@pytest.mark.slow
def test_a_clip_in_the_style_of_a_picture_with_strength_and_colour(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photo(remote.remote / "style_images" / "waves.png", 64, 64, seed=5)
    args = ["-i", "clip.mp4", "--style-image", "waves.png", "--strength", "0.5", "--preserve-color"]
    code = main([*args, "--no-contact-sheet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (published,) = _lines(out, "published: ")
    assert probe(published).frame_count == CLIP.frame_count
