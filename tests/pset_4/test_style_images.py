"""Style pictures as workflow inputs: upload, versioned names, fan-out, the contact sheet, bad input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from csci_utils.exit_codes import ExitCode
from pset_4.cli import main
from pset_4.naming import stylized_name, version_hash
from pset_4.settings import configured
from pset_4.tasks.data import (
    ContentImage,
    DownloadImage,
    DownloadModel,
    DownloadStyleImage,
    SavedModel,
    StyleImage,
)
from pset_4.tasks.stylize import Stylize

VERSIONS = {"engine": "1.0.0", "image": "md5:aa", "model": "md5:bb"}


@pytest.fixture
def remote(roots, make_photo, multistyle, checkpoint):
    """A photo, the 26-style model, a checkpoint on the remote; a painting on the remote and one here."""
    make_photo(roots.remote_images / "a.jpg", seed=1)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    shutil.copyfile(checkpoint, roots.remote_models / "random.pth")
    make_photo(roots.remote / "style_images" / "wave.png", 64, 64, seed=7)
    make_photo(roots.cache.parent / "starry.png", 64, 64, seed=8)
    return roots


def _lines(text: str, prefix: str) -> list[str]:
    return [line.removeprefix(prefix) for line in text.splitlines() if line.startswith(prefix)]


def _colours(picture: Image.Image) -> int:
    return len(np.unique(np.asarray(picture).reshape(-1, 3), axis=0))


def _stylized(roots) -> list[str]:
    folder = roots.remote / "stylized"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_a_local_style_picture_is_uploaded_said_and_used(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "a.jpg", "--style-image", "starry.png"]) == ExitCode.OK
    captured = capsys.readouterr()
    assert (remote.remote / "style_images" / "starry.png").read_bytes() == Path("starry.png").read_bytes()
    assert "uploading starry.png -> " in captured.err
    assert _lines(captured.out, "uploaded: ") == [
        f"starry.png -> {remote.remote / 'style_images/starry.png'}"
    ]
    (published,) = _lines(captured.out, "published: ")
    assert Path(published).name.startswith("a--by-starry--")


def test_style_pictures_fan_out_beside_model_columns(remote, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["-i", "a.jpg", "-m", "multi.onnx", "--style", "3", "--style-image", "wave.png"]
    assert main([*argv, "--style-image", "starry.png"]) == ExitCode.OK
    names = [Path(p).name for p in _lines(capsys.readouterr().out, "published: ")]
    assert [n.split("--")[1] for n in names] == ["multi", "by-wave", "by-starry"]


def test_strength_and_preserve_color_apply_to_every_column(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["-i", "a.jpg", "-m", "random.pth", "--style-image", "wave.png", "--strength", "0.5"]
    assert main([*argv, "--preserve-color"]) == ExitCode.OK
    names = [Path(p).name for p in _lines(capsys.readouterr().out, "published: ")]
    assert len(names) == 2
    assert all("--k0.5--color--" in name for name in names)


def test_model_pair_names_do_not_change_at_the_default_strength_and_colour() -> None:
    before = "a--m--" + version_hash(
        {"image": "a.jpg", "model": "m.onnx", "style": None, "versions": VERSIONS}
    )
    assert stylized_name("a.jpg", "m.onnx", None, versions=VERSIONS) == before + ".jpg"


@pytest.mark.parametrize("options", [{"strength": 0.7}, {"preserve_color": True}, {"style_image": "m.png"}])
def test_strength_colour_and_style_picture_each_give_a_new_name(options: dict[str, object]) -> None:
    plain = stylized_name("a.jpg", "m.onnx", None, versions=VERSIONS)
    assert stylized_name("a.jpg", "m.onnx", None, versions=VERSIONS, **options) != plain  # type: ignore[arg-type]


def test_a_replaced_style_picture_gives_a_new_output_name(remote, make_photo) -> None:
    task = Stylize(image="a.jpg", style_image="wave.png")
    before = task.output_name()
    make_photo(remote.remote / "style_images" / "wave.png", 64, 64, seed=99)
    assert Stylize(image="a.jpg", style_image="wave.png").output_name() != before


def test_a_style_picture_task_needs_no_model(remote) -> None:
    (remote.remote_models / "multi.onnx").unlink()
    (remote.remote_models / "random.pth").unlink()
    task = Stylize(image="a.jpg", style_image="wave.png")
    assert set(task.requires()) == {"image", "style_image"}
    assert "model" not in task.versions()


def test_a_style_index_with_a_style_picture_is_refused() -> None:
    with pytest.raises(ValueError, match="--style"):
        Stylize(image="a.jpg", style_image="wave.png", style="3")


def test_the_contact_sheet_shows_each_style_picture_atop_its_column(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-i", "a.jpg", "-m", "random.pth", "--style-image", "wave.png"]) == ExitCode.OK
    (sheet,) = _lines(capsys.readouterr().out, "contact sheet: ")
    with Image.open(sheet) as picture:
        rgb = picture.convert("RGB")
    tile = rgb.width // 3
    assert rgb.height > tile * 3 // 2  # two rows: the style pictures, then the photo's
    header = rgb.crop((2 * tile + 8, 8, 3 * tile - 8, tile - 8))
    assert _colours(header) > 50  # the painting, not a blank or grey cell
    assert _colours(rgb.crop((8, 8, tile - 8, tile - 8))) == 1  # the blank corner


@pytest.mark.slow
def test_the_spec_luigi_command_takes_a_style_picture(remote) -> None:
    config = Path(__file__).parents[2] / "luigi.cfg"
    command = [sys.executable, "-m", "luigi", "--module", "pset_4.tasks.stylize", "Stylize"]
    command += ["--local-scheduler", "--image", "a.jpg", "--style-image", "wave.png", "--strength", "0.8"]
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(config)}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr
    (name,) = _stylized(remote)
    assert name.startswith("a--by-wave--k0.8--")


def test_a_missing_style_picture_lists_what_the_remote_has(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-i", "a.jpg", "--style-image", "nope.png"]) == ExitCode.MISSING_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no style image 'nope.png'" in err
    assert "wave.png" in err
    assert _stylized(remote) == []


def test_a_local_style_picture_that_is_not_an_image_is_bad_input(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("notes.png").write_text("not a picture")
    assert main(["-i", "a.jpg", "--style-image", "notes.png"]) == ExitCode.BAD_INPUT
    assert "notes.png is not an image file" in capsys.readouterr().err
    assert not (remote.remote / "style_images" / "notes.png").exists()
    assert _stylized(remote) == []


def test_a_bad_style_picture_is_skipped_and_the_rest_is_done(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("notes.png").write_text("not a picture")
    assert (
        main(["-i", "a.jpg", "--style-image", "notes.png", "--style-image", "wave.png"]) == ExitCode.BAD_INPUT
    )
    captured = capsys.readouterr()
    assert "SKIPPED: notes.png" in captured.err
    assert [Path(p).name.split("--")[1] for p in _lines(captured.out, "published: ")] == ["by-wave"]


def test_a_decompression_bomb_style_picture_is_refused(
    remote, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pillow's own guard, scaled down so a 64x64 picture trips it (it warns above the limit).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert main(["-i", "a.jpg", "--style-image", "starry.png"]) == ExitCode.BAD_INPUT
    assert "decompression bomb" in capsys.readouterr().err
    assert not (remote.remote / "style_images" / "starry.png").exists()


def test_a_remote_style_picture_that_is_not_an_image_fails_its_task_only(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    (remote.remote / "style_images" / "broken.png").write_bytes(b"\x89PNG garbage")
    argv = ["-i", "a.jpg", "-m", "random.pth", "--style-image", "broken.png"]
    assert main(argv) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert captured.err.count("SKIPPED: ") == 1
    assert "broken.png" in captured.err
    assert "Traceback" not in captured.err
    assert [name.split("--")[1] for name in _stylized(remote)] == ["random"]


@pytest.mark.parametrize("strength", ["1.5", "-0.1", "nan"])
def test_a_strength_outside_zero_to_one_is_a_usage_error(
    remote, strength: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["-i", "a.jpg", "--strength", strength])
    assert exit_info.value.code == ExitCode.USAGE
    assert "--strength must be between 0 and 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "style", "message"),
    [
        ("multi.onnx", "30", "index 30 is out of range, multi.onnx has styles 0 to 25"),
        ("multi.onnx", "1:0.5,26:0.5", "index 26 is out of range"),
        ("random.pth", "3", "random.pth holds a single style"),
    ],
)
def test_a_style_the_model_lacks_is_refused_before_any_work(
    remote, model: str, style: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-i", "a.jpg", "-m", model, "--style", style]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert _stylized(remote) == []
    assert not (remote.cache / "stylized").exists()


def test_the_spec_root_attributes_follow_the_configured_roots(tmp_path: Path) -> None:
    with configured(remote_root="s3://some-bucket/pset_4", cache_root=str(tmp_path / "data")):
        assert ContentImage.IMAGE_ROOT == "s3://some-bucket/pset_4/images"
        assert SavedModel.MODEL_ROOT == "s3://some-bucket/pset_4/saved_models"
        assert StyleImage.STYLE_IMAGE_ROOT == "s3://some-bucket/pset_4/style_images"
        for task, folder in ((DownloadImage, "images"), (DownloadModel, "saved_models")):
            assert task.S3_ROOT == "s3://some-bucket/pset_4"
            assert str(tmp_path / "data") == task.LOCAL_ROOT
            assert folder == task.SHARED_RELATIVE_PATH
        assert DownloadStyleImage.SHARED_RELATIVE_PATH == "style_images"
    with configured(remote_root="s3://other/x"):
        assert ContentImage(image="a.jpg").IMAGE_ROOT == "s3://other/x/images"


def test_a_download_writes_to_local_root_under_the_shared_relative_path(remote) -> None:
    task = DownloadImage(image="a.jpg")
    assert Path(task.output().path).absolute() == Path(task.LOCAL_ROOT, task.SHARED_RELATIVE_PATH, "a.jpg")


def test_the_program_task_passes_the_style_picture_to_the_engine_command(remote) -> None:
    import luigi

    from pset_4.tasks.stylize import StylizeProgram

    task = StylizeProgram(image="a.jpg", style_image="wave.png", strength=0.5, preserve_color=True)
    assert luigi.build([task], local_scheduler=True, log_level="CRITICAL")
    assert Path(task.output().path).is_file()
    assert (
        Path(task.output().path).name
        == Stylize(image="a.jpg", style_image="wave.png", strength=0.5, preserve_color=True).output_name()
    )


def test_waves_keep_the_style_pictures_strength_colour_and_uploads() -> None:
    from pset_4.batch import Batch
    from pset_4.waves import waves

    batch = Batch(
        images=["a.jpg", "b.jpg", "c.jpg"],
        style_images=["w.png"],
        strength=0.5,
        preserve_color=True,
        uploads={"style_images": {"w.png": "/here/w.png"}},
    )
    planned = waves(batch, wave_pairs=1)
    assert [list(w.images) for w in planned] == [["a.jpg"], ["b.jpg"], ["c.jpg"]]
    assert all(w.columns() == batch.columns() and w.uploads == batch.uploads for w in planned)
