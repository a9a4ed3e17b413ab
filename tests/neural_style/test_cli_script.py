"""Results a script can use: ``--json`` documents, ``info``, and photos through pipes (``-``)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from neural_style.loading import multistyle_model_path


@pytest.fixture(autouse=True)
def graph_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Optimised graphs go to a temporary folder, never the user's cache."""
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(tmp_path_factory.getbasetemp() / "graph-cache"))


def _run(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "neural_style", *args], input=stdin, capture_output=True, check=False
    )


def _model() -> list[str]:
    return ["--model", str(multistyle_model_path()), "--style", "3"]


@pytest.mark.slow
def test_eval_json_is_the_only_thing_on_stdout(tmp_path: Path, make_photo) -> None:
    photo = make_photo(tmp_path / "photo.png")
    out = tmp_path / "out.png"
    done = _run(["eval", "--content-image", str(photo), "--output-image", str(out), *_model(), "--json"])
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["written"] == [str(out)]
    assert document["style"] == "3"
    assert document["strength"] == 1.0
    assert document["preserve_color"] is False
    assert document["seconds"] > 0
    assert document["exit_code"] == 0


@pytest.mark.slow
def test_an_error_with_json_keeps_its_exit_code_and_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "none.png"
    out = str(tmp_path / "out.png")
    done = _run(["eval", "--content-image", str(missing), "--output-image", out, *_model(), "--json"])
    assert done.returncode == 3
    document = json.loads(done.stdout)
    assert document["exit_code"] == 3
    assert "none.png" in document["error"]
    assert len(done.stderr.decode().strip().splitlines()) == 1


@pytest.mark.slow
def test_a_photo_piped_through_comes_out_as_a_png_and_nothing_else(tmp_path: Path, make_photo) -> None:
    photo = make_photo(tmp_path / "photo.jpg", width=40, height=32)
    done = _run(["eval", "--content-image", "-", "--output-image", "-", *_model()], photo.read_bytes())
    assert done.returncode == 0, done.stderr
    with Image.open(io.BytesIO(done.stdout)) as picture:
        assert picture.format == "PNG"
        assert picture.size == (40, 32)


@pytest.mark.slow
def test_format_jpg_writes_a_jpeg_to_stdout(tmp_path: Path, make_photo) -> None:
    photo = make_photo(tmp_path / "photo.png", width=40, height=30)
    argv = ["eval", "--content-image", str(photo), "--output-image", "-", "--format", "jpg", *_model()]
    done = _run(argv)
    assert done.returncode == 0, done.stderr
    with Image.open(io.BytesIO(done.stdout)) as picture:
        assert picture.format == "JPEG"


def test_a_bad_picture_on_stdin_is_exit_4_with_one_line_and_no_output() -> None:
    done = _run(["eval", "--content-image", "-", "--output-image", "-", *_model()], b"not a picture")
    assert done.returncode == 4
    assert done.stdout == b""
    assert done.stderr.decode().strip().splitlines() == [
        "neural_style: error: the photo on stdin is not an image file Pillow can read"
    ]


def test_a_photo_from_stdin_goes_to_a_file_atomically(tmp_path: Path, make_photo) -> None:
    photo = make_photo(tmp_path / "photo.png", width=40, height=30)
    out = tmp_path / "out.jpg"
    done = _run(["eval", "--content-image", "-", "--output-image", str(out), *_model()], photo.read_bytes())
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    with Image.open(out) as picture:
        assert picture.format == "JPEG"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.jpg", "photo.png"]


def test_export_onnx_from_a_pipe_is_a_usage_error() -> None:
    done = _run(["eval", "--content-image", "-", "--output-image", "-", *_model(), "--export_onnx", "m.onnx"])
    assert done.returncode == 2
    assert done.stdout == b""
    assert len(done.stderr.decode().strip().splitlines()) == 1


def test_json_and_a_picture_on_stdout_is_a_usage_error_said_in_json() -> None:
    done = _run(["eval", "--content-image", "-", "--output-image", "-", *_model(), "--json"], b"")
    assert done.returncode == 2
    assert json.loads(done.stdout)["exit_code"] == 2
    assert "--json" in done.stderr.decode()


def test_format_with_a_file_output_is_a_usage_error(tmp_path: Path, make_photo) -> None:
    photo = make_photo(tmp_path / "photo.png")
    argv = [
        "eval",
        "--content-image",
        str(photo),
        "--output-image",
        str(tmp_path / "o.png"),
        "--format",
        "jpg",
    ]
    assert _run([*argv, *_model()]).returncode == 2
    assert not (tmp_path / "o.png").exists()


def test_info_json_names_the_models_the_cache_the_cpu_and_the_runtimes(tmp_path: Path) -> None:
    env = {**os.environ, "NEURAL_STYLE_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "neural_style", "info", "--json"], capture_output=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert {"name": "multistyle26.onnx", "path": str(multistyle_model_path()), "styles": 26} in facts[
        "models"
    ]
    assert facts["engine_cache"] == {"path": str(tmp_path / "cache"), "files": 0, "bytes": 0}
    assert facts["cpu"]["precision_auto"]["onnx"] == "fp32"
    assert facts["runtimes"]["onnxruntime"]
    assert facts["runtimes"]["torch"].startswith("2.13.0")
    assert isinstance(facts["gpu"]["onnxruntime_cuda"], bool)


def test_info_in_words_names_the_default_model() -> None:
    done = _run(["info"])
    assert done.returncode == 0
    assert "multistyle26.onnx: 26" in done.stdout.decode()


@pytest.mark.slow
def test_video_json_says_what_was_written_and_how(tmp_path: Path) -> None:
    from neural_style.video.synthetic import ClipSpec, make_clip

    clip = make_clip(tmp_path / "clip.mp4", ClipSpec(seconds=0.3))
    out = tmp_path / "out.mp4"
    done = _run(["video", "--input", str(clip), "--output", str(out), *_model(), "--json"])
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["command"] == "video"
    assert document["written"] == [str(out)]
    assert document["input"] == str(clip)
    assert document["stabilize"] is True
    assert out.is_file()
