"""`python -m neural_style eval|train`: the example's flags; one-line errors and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from PIL import Image

from csci_utils.exit_codes import ExitCode
from neural_style.cli import build_parser, main


def size_of(path):
    with Image.open(path) as image:
        return image.size


def test_eval_writes_the_stylized_picture(published_checkpoint, photo, tmp_path, capsys):
    out = tmp_path / "out.jpg"
    argv = ["eval", "--content-image", str(photo), "--model", str(published_checkpoint)]
    assert main([*argv, "--output-image", str(out), "--cuda", "0"]) == 0
    assert size_of(out) == (48, 40)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_eval_content_scale(published_checkpoint, photo, tmp_path):
    out = tmp_path / "out.png"
    argv = ["eval", "--content-image", str(photo), "--model", str(published_checkpoint), "--output-image"]
    assert main([*argv, str(out), "--cuda", "0", "--content-scale", "2"]) == 0
    assert size_of(out) == (24, 20)


def test_eval_runs_the_multi_style_model_with_a_blend(photo, tmp_path):
    from neural_style.loading import multistyle_model_path

    out = tmp_path / "out.png"
    argv = ["eval", "--content-image", str(photo), "--model", str(multistyle_model_path())]
    assert main([*argv, "--output-image", str(out), "--cuda", "0", "--style", "3:0.5,12:0.5"]) == 0
    assert size_of(out) == (48, 40)


def test_missing_content_image_is_one_line_and_exit_3(published_checkpoint, tmp_path, capsys):
    out = tmp_path / "out.png"
    argv = ["eval", "--content-image", str(tmp_path / "nope.jpg"), "--model", str(published_checkpoint)]
    assert main([*argv, "--output-image", str(out), "--cuda", "0"]) == ExitCode.MISSING_INPUT
    err = capsys.readouterr().err
    assert err.startswith("neural_style: error: image not found")
    assert err.count("\n") == 1
    assert not out.exists()


def test_model_that_is_not_a_checkpoint_is_one_line_and_exit_4(photo, tmp_path, capsys):
    bogus = tmp_path / "style.pth"
    bogus.write_text("hello")
    argv = ["eval", "--content-image", str(photo), "--model", str(bogus), "--output-image"]
    assert main([*argv, str(tmp_path / "out.png"), "--cuda", "0"]) == ExitCode.BAD_INPUT
    assert "is not a PyTorch checkpoint" in capsys.readouterr().err


def test_cuda_1_without_a_gpu_is_a_clear_error(published_checkpoint, photo, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = ["eval", "--content-image", str(photo), "--model", str(published_checkpoint), "--output-image"]
    assert main([*argv, str(tmp_path / "out.png"), "--cuda", "1"]) == ExitCode.USAGE
    assert "use --cuda 0" in capsys.readouterr().err


def test_output_into_a_directory_that_is_a_file_is_one_line(published_checkpoint, photo, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    argv = ["eval", "--content-image", str(photo), "--model", str(published_checkpoint), "--output-image"]
    assert main([*argv, str(tmp_path / "file" / "out.png")]) == ExitCode.FAILED
    err = capsys.readouterr().err
    assert err.startswith("neural_style: error:")
    assert err.count("\n") == 1


def test_export_onnx_needs_the_onnx_suffix(published_checkpoint, photo, tmp_path, capsys):
    argv = ["eval", "--content-image", str(photo), "--model", str(published_checkpoint), "--output-image"]
    assert main([*argv, str(tmp_path / "o.png"), "--export_onnx", str(tmp_path / "m.pb")]) == ExitCode.USAGE
    assert "--export_onnx must end in .onnx" in capsys.readouterr().err


def test_train_defaults_are_the_examples():
    args = build_parser().parse_args(
        ["train", "--dataset", "d", "--style-image", "s.jpg", "--save-model-dir", "m", "--vgg-weights", "v"]
    )
    assert (args.epochs, args.batch_size, args.image_size, args.style_size) == (2, 4, 256, None)
    assert (args.content_weight, args.style_weight, args.lr, args.seed) == (1e5, 1e10, 1e-3, 42)
    assert (args.log_interval, args.checkpoint_interval, args.cuda, args.max_steps) == (500, 2000, 0, None)


def test_train_without_vgg_weights_says_so(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", "--dataset", "d", "--style-image", "s.jpg", "--save-model-dir", "m"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--vgg-weights" in err
    assert "cannot be downloaded here" in err


def test_export_with_a_missing_photo_writes_nothing(published_checkpoint, tmp_path, capsys):
    argv = ["eval", "--content-image", str(tmp_path / "none.jpg"), "--model", str(published_checkpoint)]
    argv += ["--output-image", str(tmp_path / "o.png"), "--export_onnx", str(tmp_path / "m.onnx")]
    assert main(argv) == ExitCode.MISSING_INPUT
    assert "none.jpg" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
    assert not (tmp_path / "o.png").exists()


def test_train_with_a_missing_dataset_is_one_line(tmp_path, capsys):
    argv = ["train", "--dataset", str(tmp_path / "none"), "--style-image", str(tmp_path / "s.jpg")]
    argv += ["--save-model-dir", str(tmp_path / "m"), "--vgg-weights", str(tmp_path / "vgg.pth")]
    assert main(argv) == ExitCode.MISSING_INPUT
    err = capsys.readouterr().err
    assert err.startswith("neural_style: error:")
    assert err.count("\n") == 1


@pytest.mark.slow
def test_python_dash_m_runs_eval_in_a_fresh_process(published_checkpoint, photo, tmp_path):
    out = tmp_path / "out.png"
    command = [sys.executable, "-m", "neural_style", "eval", "--content-image", str(photo)]
    command += ["--model", str(published_checkpoint), "--output-image", str(out), "--cuda", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert size_of(out) == (48, 40)


@pytest.mark.slow
def test_python_dash_m_error_has_no_traceback(tmp_path):
    command = [sys.executable, "-m", "neural_style", "eval", "--content-image", str(tmp_path / "x.png")]
    command += ["--model", str(tmp_path / "m.pth"), "--output-image", str(tmp_path / "o.png"), "--cuda", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == ExitCode.MISSING_INPUT
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("neural_style: error:")


def test_precision_defaults_to_auto():
    args = build_parser().parse_args(["eval", "--content-image", "a", "--output-image", "b", "--model", "m"])
    assert args.precision == "auto"


def test_bf16_for_an_onnx_model_is_a_usage_error(photo, tmp_path, capsys):
    from neural_style.loading import multistyle_model_path

    argv = ["eval", "--content-image", str(photo), "--model", str(multistyle_model_path())]
    assert main([*argv, "--output-image", str(tmp_path / "o.png"), "--precision", "bf16"]) == ExitCode.USAGE
    assert "fp32 only" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_a_bad_style_is_a_usage_error(photo, tmp_path, capsys):
    from neural_style.loading import multistyle_model_path

    argv = ["eval", "--content-image", str(photo), "--model", str(multistyle_model_path())]
    assert main([*argv, "--output-image", str(tmp_path / "o.png"), "--style", "3:x"]) == ExitCode.USAGE
    assert capsys.readouterr().err.count("\n") == 1


def test_a_photo_that_is_not_an_image_is_exit_4(published_checkpoint, tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    photo.write_text("not a picture")
    argv = ["eval", "--content-image", str(photo), "--model", str(published_checkpoint)]
    assert main([*argv, "--output-image", str(tmp_path / "o.png")]) == ExitCode.BAD_INPUT
    assert "not an image" in capsys.readouterr().err
