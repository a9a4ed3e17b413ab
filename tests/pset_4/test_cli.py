"""``python -m pset_4``: batches, the contact sheet, bad input, the demo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from csci_utils.exit_codes import ExitCode
from pset_4.cli import build_parser, main


@pytest.fixture
def remote(roots, make_photo, multistyle, checkpoint):
    """Two photos, the 26-style model and a TransformerNet checkpoint on the remote."""
    make_photo(roots.remote_images / "a.jpg", seed=1)
    make_photo(roots.remote_images / "b.png", 40, 32, seed=2)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    shutil.copyfile(checkpoint, roots.remote_models / "random.pth")
    return roots


def _lines(text: str, prefix: str) -> list[str]:
    return [line.removeprefix(prefix) for line in text.splitlines() if line.startswith(prefix)]


def test_batch_fans_out_over_images_and_styles(remote, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-i", "a.jpg", "-i", "b.png", "-m", "multi.onnx", "--style", "0", "--style", "5"])
    out = capsys.readouterr().out
    assert code == 0
    outputs = _lines(out, "output: ")
    assert len(outputs) == 4
    assert all(Path(p).is_file() for p in outputs)
    assert len(_lines(out, "published: ")) == 4
    assert sorted(p.name for p in (remote.remote / "stylized").iterdir()) == sorted(
        Path(p).name for p in outputs
    )
    assert "pset_4: done: 4 result(s)" in out
    assert "not granted run permission" not in out


def test_batch_writes_a_contact_sheet_with_a_row_per_image(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-i", "a.jpg", "-i", "b.png", "-m", "multi.onnx", "--style", "1", "--style", "2"]) == 0
    (sheet,) = _lines(capsys.readouterr().out, "contact sheet: ")
    with Image.open(sheet) as picture:
        assert picture.width > picture.height  # 2 rows of 3 tiles


def test_rerun_does_nothing(remote, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["-i", "a.jpg", "-m", "random.pth"]
    assert main(argv) == 0
    (output,) = _lines(capsys.readouterr().out, "output: ")
    stamp = Path(output).stat().st_mtime_ns
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "pset_4: done: 1 result(s), 1 of them already done before this run" in out
    assert Path(output).stat().st_mtime_ns == stamp


def test_unknown_image_lists_what_the_remote_has(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "nope.jpg", "-m", "random.pth"]) == ExitCode.MISSING_INPUT
    err = capsys.readouterr().err
    assert "no image 'nope.jpg'" in err
    assert "a.jpg, b.png" in err
    assert "Traceback" not in err


def test_unknown_model_lists_what_the_remote_has(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "a.jpg", "-m", "candy.pth"]) == ExitCode.MISSING_INPUT
    assert "multi.onnx, random.pth" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["../a.pth", "sub/a.pth", ".."])
def test_names_with_separators_or_dotdot_are_refused(
    remote, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-i", "a.jpg", "-m", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pset_4: error: ")
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["../nope.jpg", "sub/nope.jpg"])
def test_an_image_path_that_does_not_exist_is_a_missing_input(
    remote, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # -i takes local paths too (uploaded to <remote>/images), so a path with a separator is not refused
    # as a name: it is looked for, and reported missing.
    assert main(["-i", name, "-m", "random.pth"]) == ExitCode.MISSING_INPUT
    err = capsys.readouterr().err
    assert err.startswith("pset_4: error: ")
    assert "neither a name on the remote nor a local file or folder" in err


def test_bad_inputs_are_skipped_once_each_and_the_rest_completes(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    (remote.remote_images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (remote.remote_models / "broken.pth").write_bytes(b"not a checkpoint")
    code = main(["-i", "a.jpg", "-i", "corrupt.jpg", "-m", "random.pth", "-m", "broken.pth", "--no-publish"])
    captured = capsys.readouterr()
    assert code == ExitCode.BAD_INPUT
    (output,) = _lines(captured.out, "output: ")
    assert Path(output).name.startswith("a--random--")
    assert sorted(p.name for p in remote.stylized.iterdir()) == [Path(output).name]
    skipped = sorted(_lines(captured.err, "SKIPPED: "))
    assert skipped == [str(remote.remote_images / "corrupt.jpg"), str(remote.remote_models / "broken.pth")]
    assert "FAILED" not in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_workers_must_be_positive_or_auto(workers: str, remote, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--workers", workers])
    assert exited.value.code == 2
    assert "--workers: must be a positive number or 'auto'" in capsys.readouterr().err


def test_workers_default_to_auto(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args([]).workers is None
    assert build_parser().parse_args(["--workers", "auto"]).workers is None
    assert build_parser().parse_args(["--workers", "3"]).workers == 3


@pytest.mark.slow
def test_demo_seeds_the_remote_and_stylizes_offline(roots, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--demo"]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in roots.remote_images.iterdir()) == ["grace_hopper.jpg"]
    assert sorted(p.name for p in roots.remote_models.iterdir()) == ["multistyle26.onnx"]
    assert len(_lines(out, "output: ")) == 3
    assert Path(_lines(out, "contact sheet: ")[0]).is_file()


@pytest.mark.slow
def test_luigi_command_line_without_parameters_stylizes_the_demo_pair(roots) -> None:
    assert main(["--demo", "--no-contact-sheet"]) == 0
    command = [
        sys.executable,
        "-m",
        "luigi",
        "--module",
        "pset_4.tasks.stylize",
        "Stylize",
        "--local-scheduler",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert "1 ran successfully" in done.stderr
    assert any(p.name.startswith("grace_hopper--multistyle26--") for p in roots.stylized.iterdir())


def test_a_photo_only_this_machine_has_is_uploaded_then_stylized(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    local = make_photo(remote.cache / "images" / "mine.jpg", seed=5)
    argv = ["-i", "mine.jpg", "-m", "random.pth", "--no-contact-sheet"]
    assert main(argv) == 0
    uploaded = remote.remote_images / "mine.jpg"
    assert uploaded.read_bytes() == local.read_bytes()
    stamp = uploaded.stat().st_mtime_ns
    capsys.readouterr()
    assert main(argv) == 0
    assert uploaded.stat().st_mtime_ns == stamp
    assert "ran successfully" not in capsys.readouterr().out


def test_remote_and_cache_options_override_the_configuration(
    remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pset_4.settings import CACHE_ENV, REMOTE_ENV

    monkeypatch.setenv(REMOTE_ENV, str(tmp_path / "elsewhere"))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "elsewhere-cache"))
    argv = [
        "--remote",
        str(remote.remote),
        "--cache",
        str(tmp_path / "cache2"),
        "-i",
        "a.jpg",
        "-m",
        "random.pth",
    ]
    assert main([*argv, "--no-contact-sheet"]) == 0
    (output,) = _lines(capsys.readouterr().out, "output: ")
    assert Path(output).parent == tmp_path / "cache2" / "stylized"
    assert not (tmp_path / "elsewhere").exists()


def test_a_malformed_style_is_a_usage_error(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "a.jpg", "-m", "multi.onnx", "--style", "three"]) == ExitCode.USAGE
    assert capsys.readouterr().err.startswith("pset_4: error: bad --style 'three'")


def test_a_bad_engine_threads_setting_is_a_configuration_error(remote) -> None:
    import os

    command = [sys.executable, "-m", "pset_4", "-i", "a.jpg", "-m", "random.pth"]
    env = {**os.environ, "PSET4_ENGINE_THREADS": "two"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == ExitCode.CONFIGURATION
    assert "engine_threads" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_publish_cannot_share_a_central_scheduler(remote) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--no-publish", "--scheduler-host", "127.0.0.1"])
    assert exited.value.code == ExitCode.USAGE


def test_progress_says_what_is_left_to_do(remote, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["-i", "a.jpg", "-m", "multi.onnx", "--style", "1", "--style", "2", "--no-contact-sheet"]
    assert main(argv) == 0
    assert "pset_4: 2 to do, 0 already done" in capsys.readouterr().err
    assert main([*argv, "--style", "3"]) == 0
    assert "pset_4: 1 to do, 2 already done" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize(("image", "code"), [("nope.jpg", ExitCode.MISSING_INPUT), ("a.jpg", ExitCode.OK)])
def test_luigi_command_line_exits_with_the_retcode_table(remote, image: str, code: int) -> None:
    import os

    config = Path(__file__).parents[2] / "luigi.cfg"
    command = [sys.executable, "-m", "luigi", "--module", "pset_4.tasks.stylize", "Stylize"]
    command += ["--local-scheduler", "--image", image, "--model", "random.pth"]
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(config)}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == code, done.stderr
