"""``neural_style video`` with a style picture, strength and colour preservation (via ``load_stylizer``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neural_style.cli import main
from neural_style.color import ColorStylizer
from neural_style.loading import load_stylizer, multistyle_model_path
from neural_style.video import probe
from neural_style.video.synthetic import ClipSpec, make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", ClipSpec(seconds=0.5))


@pytest.fixture(scope="module")
def style_picture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    path = tmp_path_factory.mktemp("styles") / "style.png"
    Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(path)
    return path


def test_a_style_picture_stylizes_every_frame(clip: Path, style_picture: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    assert (
        main(["video", "--input", str(clip), "--output", str(out), "--style-image", str(style_picture)]) == 0
    )
    assert probe(out).frame_count == probe(clip).frame_count


def test_strength_and_preserve_color_apply_to_a_model(tmp_path: Path) -> None:
    stylizer = load_stylizer(multistyle_model_path(), style="3", strength=0.5, preserve_color=True)
    assert isinstance(stylizer, ColorStylizer)


def test_a_model_at_full_strength_is_used_as_it_is() -> None:
    stylizer = load_stylizer(multistyle_model_path(), style="3")
    assert not isinstance(stylizer, ColorStylizer)


def test_a_style_picture_with_strength_and_preserve_color_writes_the_clip(
    clip: Path, style_picture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    argv = ["video", "--input", str(clip), "--output", str(out), "--style-image", str(style_picture)]
    assert main([*argv, "--strength", "0.4", "--preserve-color"]) == 0
    assert probe(out).frame_count == probe(clip).frame_count


@pytest.mark.parametrize(
    "extra",
    [
        ["--style-image", "s.png", "--model", "m.onnx"],
        ["--strength", "1.5", "--model", "m.onnx"],
        [],
    ],
)
def test_bad_model_flags_are_usage_errors(clip: Path, tmp_path: Path, extra: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["video", "--input", str(clip), "--output", str(tmp_path / "o.mp4"), *extra])
    assert exit_info.value.code == 2
    assert not (tmp_path / "o.mp4").exists()


def test_a_style_index_with_a_style_picture_is_a_usage_error(
    clip: Path, style_picture: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["video", "--input", str(clip), "--output", str(tmp_path / "o.mp4")]
    assert main([*argv, "--style-image", str(style_picture), "--style", "3"]) == 2
    assert "--style picks a style of a multi-style --model" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


def test_an_unreadable_style_picture_is_bad_input(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    argv = ["video", "--input", str(clip), "--output", str(tmp_path / "o.mp4"), "--style-image", str(broken)]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 4, err
    assert err.count("\n") == 1
    assert not (tmp_path / "o.mp4").exists()


def test_a_style_index_the_model_lacks_is_a_usage_error_as_in_eval(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "o.mp4"
    argv = ["video", "--input", str(clip), "--output", str(output), "--model", str(multistyle_model_path())]
    code = main([*argv, "--style", "99"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1
    assert not output.exists()
