"""An unusable input on the remote: one line per input, exit 4, and one attempt per task in a batch.

The machines of the last test share only the remote (a folder) and a real luigid; each is a ``python -m
pset_4 -v`` process, whose Luigi log has one "running" line per attempt of a task.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from csci_utils.exit_codes import ExitCode
from pset_4.cli import main
from pset_4.settings import REMOTE_ENV, configured
from tests.pset_4.conftest import write_fast_timeouts

NOT_AN_IMAGE = "is not an image file Pillow can read"


def _lines(text: str, prefix: str) -> list[str]:
    return [line.removeprefix(prefix) for line in text.splitlines() if line.startswith(prefix)]


@pytest.fixture
def remote(roots, make_photo, multistyle):
    """A good photo, a corrupt one and the 26-style model on the remote (a folder)."""
    make_photo(roots.remote_images / "good.jpg", seed=1)
    (roots.remote_images / "bad.png").write_bytes(b"\x89PNG not a photo")
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    return roots


def test_a_corrupt_photo_on_the_remote_is_one_line_and_exit_4_and_the_rest_is_done(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["-i", "good.jpg", "-i", "bad.png", "-m", "multi.onnx", "--style", "0", "--style", "7"]
    assert main(argv) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    bad = str(remote.remote_images / "bad.png")
    assert _lines(captured.err, "SKIPPED: ") == [bad]
    assert captured.err.count(NOT_AN_IMAGE) == 1
    assert f"  reason: {bad} {NOT_AN_IMAGE}" in captured.err.splitlines()
    assert "FAILED" not in captured.err
    assert "Traceback" not in captured.err
    published = _lines(captured.out, "published: ")
    assert sorted(Path(p).name.split("--")[0] for p in published) == ["good", "good"]


@pytest.mark.parametrize(
    ("model", "styles"),
    [("garbage.onnx", ["--style", "2"]), ("garbage.onnx", []), ("garbage.pth", [])],
)
def test_a_garbage_model_on_the_remote_is_exit_4_and_the_other_models_are_used(
    remote, checkpoint, capsys: pytest.CaptureFixture[str], model: str, styles: list[str]
) -> None:
    (remote.remote_models / model).write_bytes(b"garbage, not a model")
    argv = ["-i", "good.jpg", "-m", model, "-m", "multi.onnx", *styles, "--no-contact-sheet"]
    assert main(argv) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert _lines(captured.err, "SKIPPED: ") == [str(remote.remote_models / model)]
    assert "FAILED" not in captured.err
    published = _lines(captured.out, "published: ")
    assert [Path(p).name.split("--")[1] for p in published] == ["multi"]


def test_a_corrupt_video_on_the_remote_is_one_line_and_exit_4(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    (remote.remote_images / "clip.mp4").write_bytes(b"just some text\n")
    argv = ["-i", "clip.mp4", "-i", "good.jpg", "-m", "multi.onnx", "--style", "3", "--style", "5"]
    with configured(segment_seconds=1.0):
        assert main(argv) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    clip = str(remote.remote_images / "clip.mp4")
    assert _lines(captured.err, "SKIPPED: ") == [clip]
    assert captured.err.count("not a video file") == 1
    assert "FAILED" not in captured.err
    assert len(_lines(captured.out, "published: ")) == 2


def test_the_next_batch_tries_an_unusable_input_again_and_a_fixed_one_is_used(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["-i", "bad.png", "-m", "multi.onnx", "--style", "0", "--no-contact-sheet"]
    assert main(argv) == ExitCode.BAD_INPUT
    cached = remote.cache / "images" / "bad.png"
    cached.unlink()  # an attempt downloads it again: the failure was final for that batch only
    assert main(argv) == ExitCode.BAD_INPUT
    assert cached.is_file()
    make_photo(remote.remote_images / "bad.png", seed=2)
    capsys.readouterr()
    assert main(argv) == ExitCode.OK
    assert len(_lines(capsys.readouterr().out, "published: ")) == 1


@pytest.mark.slow
def test_a_corrupt_photo_on_s3_is_one_line_naming_the_object_and_exit_4(
    s3_bucket: str, roots, make_photo, checkpoint, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    client = boto3.client("s3")
    photo = make_photo(roots.cache.parent / "up" / "good.jpg")
    client.upload_file(str(photo), s3_bucket, "p/images/good.jpg")
    client.put_object(Bucket=s3_bucket, Key="p/images/bad.png", Body=b"\x89PNG not a photo")
    client.upload_file(str(checkpoint), s3_bucket, "p/saved_models/random.pth")
    monkeypatch.setenv(REMOTE_ENV, f"s3://{s3_bucket}/p")
    with configured(remote_root=f"s3://{s3_bucket}/p"):
        code = main(["-i", "good.jpg", "-i", "bad.png", "-m", "random.pth", "--no-contact-sheet"])
    assert code == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert _lines(err, "SKIPPED: ") == [f"s3://{s3_bucket}/p/images/bad.png"]
    assert err.count(NOT_AN_IMAGE) == 1
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert [key for key in keys if key.startswith("p/failures/")] != []


@pytest.mark.slow
def test_machines_sharing_luigid_attempt_a_corrupt_photo_once_and_all_report_it_with_exit_4(
    remote, tmp_path: Path, luigid: int
) -> None:
    config = write_fast_timeouts(tmp_path / "machines.cfg")  # retry_delay = 1 s: Luigi would retry soon

    def machine(name: str) -> subprocess.Popen[str]:
        home = tmp_path / name
        (home / "work").mkdir(parents=True)
        env = {
            **os.environ,
            "HOME": str(home),
            "PSET4_REMOTE_ROOT": str(remote.remote),
            "PSET4_CACHE_ROOT": str(home / "cache"),
            "NEURAL_STYLE_CACHE": str(home / "engine-cache"),
            "PSET4_ENGINE_THREADS": "1",
            "LUIGI_CONFIG_PATH": str(config),
        }
        argv = [sys.executable, "-m", "pset_4", "-v", "--scheduler-host", "127.0.0.1"]
        argv += ["--scheduler-port", str(luigid), "-i", "good.jpg", "-i", "bad.png", "-m", "multi.onnx"]
        argv += ["--style", "0", "--style", "7", "--no-contact-sheet"]
        return subprocess.Popen(
            argv, cwd=home / "work", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def finish(*machines: subprocess.Popen[str]) -> list[tuple[int, str]]:
        return [(m.wait(timeout=300), m.communicate()[1]) for m in machines]

    # Two machines start together; a third joins the batch after they are done.
    finished = finish(machine("a"), machine("b"))
    finished += finish(machine("c"))
    attempts = sum(err.count("running   Stylize(image=bad.png") for _, err in finished)
    assert attempts == 2  # one per task (styles 0 and 7), on whichever machine got it
    bad = str(remote.remote_images / "bad.png")
    for code, err in finished:
        assert code == ExitCode.BAD_INPUT, err
        assert _lines(err, "SKIPPED: ") == [bad]
        assert f"  reason: {bad} {NOT_AN_IMAGE}" in err.splitlines()
