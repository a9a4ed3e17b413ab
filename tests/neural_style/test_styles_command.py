"""``python -m neural_style styles``: every style of a model on one photo, in a captioned grid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from neural_style.cli import main
from neural_style.sheet import CAPTION_HEIGHT, MARGIN


@pytest.fixture(autouse=True)
def graph_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Optimised graphs go to a temporary folder, never the user's cache."""
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(tmp_path_factory.getbasetemp() / "graph-cache"))


def _cell(tile: int) -> tuple[int, int]:
    return tile + 2 * MARGIN, tile + CAPTION_HEIGHT + 2 * MARGIN


def test_the_sheet_shows_the_photo_and_every_style_in_lines_of_seven(tmp_path: Path, make_photo) -> None:
    photo = make_photo(tmp_path / "photo.png", width=64, height=48)
    sheet = tmp_path / "sheet.png"
    argv = ["styles", "--content-image", str(photo), "--output-image", str(sheet), "--tile-size", "32"]
    assert main(argv) == 0
    cell_w, cell_h = _cell(32)
    with Image.open(sheet) as picture:
        picture.load()
        assert picture.size == (7 * cell_w, 4 * cell_h)  # the photo and 26 styles: 7 + 7 + 7 + 6


def test_columns_sets_the_tiles_on_a_line(tmp_path: Path, make_photo) -> None:
    photo = make_photo(tmp_path / "photo.png", width=64, height=48)
    sheet = tmp_path / "sheet.jpg"
    argv = ["styles", "--content-image", str(photo), "--output-image", str(sheet), "--tile-size", "32"]
    assert main([*argv, "--columns", "9"]) == 0
    cell_w, cell_h = _cell(32)
    with Image.open(sheet) as picture:
        assert picture.format == "JPEG"
        assert picture.size == (9 * cell_w, 3 * cell_h)


def test_a_missing_photo_is_exit_3_and_writes_nothing(tmp_path: Path, capsys) -> None:
    sheet = tmp_path / "sheet.png"
    assert main(["styles", "--content-image", str(tmp_path / "none.png"), "--output-image", str(sheet)]) == 3
    assert "none.png" in capsys.readouterr().err
    assert not sheet.exists()


def test_a_file_that_is_no_picture_is_exit_4(tmp_path: Path, capsys) -> None:
    photo = tmp_path / "notes.png"
    photo.write_text("not a picture")
    assert main(["styles", "--content-image", str(photo), "--output-image", str(tmp_path / "s.png")]) == 4
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_an_output_without_an_image_suffix_is_exit_2_before_any_work(tmp_path: Path, make_photo) -> None:
    photo = make_photo(tmp_path / "photo.png")
    assert main(["styles", "--content-image", str(photo), "--output-image", str(tmp_path / "sheet.txt")]) == 2
    assert list(tmp_path.iterdir()) == [photo]


def test_a_tile_size_below_16_is_a_usage_error(tmp_path: Path, make_photo) -> None:
    photo = make_photo(tmp_path / "photo.png")
    argv = ["styles", "--content-image", str(photo), "--output-image", str(tmp_path / "s.png")]
    result = subprocess.run(
        [sys.executable, "-m", "neural_style", *argv, "--tile-size", "8"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--tile-size" in result.stderr
