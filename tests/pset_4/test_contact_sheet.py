from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from neural_style.sheet import Tile, compose
from pset_4.contact_sheet import write


def _picture(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", size, colour)


def test_one_row_per_source_and_one_column_per_result() -> None:
    rows = [
        [Tile("a.jpg", _picture((80, 40), (255, 0, 0))), Tile("m s0", _picture((80, 40), (0, 255, 0)))],
        [
            Tile("b.jpg", _picture((30, 90), (0, 0, 255))),
            Tile("m s0", None),
            Tile("m s1", _picture((8, 8), (9, 9, 9))),
        ],
    ]
    sheet = compose(rows, tile_size=64)
    cell_w, cell_h = sheet.width // 3, sheet.height // 2
    assert sheet.size == (3 * cell_w, 2 * cell_h)
    assert cell_w >= 64
    assert sheet.getpixel((cell_w // 2, cell_h // 3)) == (255, 0, 0)


def test_a_long_row_wraps_every_seven_tiles() -> None:
    photo = Tile("a.jpg", _picture((64, 48), (255, 0, 0)))
    styles = [Tile(f"style {i}", _picture((64, 48), (0, 0, 255))) for i in range(26)]
    sheet = compose([[photo, *styles]], tile_size=64)
    cell_w = sheet.width // 7
    assert cell_w >= 64
    assert sheet.height // 4 >= 64  # 27 tiles: 7 + 7 + 7 + 6
    assert sheet.width == 7 * cell_w
    assert sheet.getpixel((6 * cell_w + cell_w // 2, sheet.height * 7 // 8)) == (255, 255, 255)  # no 28th


def test_rows_of_equal_length_wrap_alike() -> None:
    rows = [[Tile(f"{red} {i}", _picture((32, 32), (red, i, i))) for i in range(10)] for red in (0, 200)]
    sheet = compose(rows, tile_size=32, max_columns=4)
    cell_w, cell_h = sheet.width // 4, sheet.height // 6  # each row: 4 + 4 + 2 tiles
    assert sheet.getpixel((cell_w // 2, 3 * cell_h + cell_h // 3)) == (
        200,
        0,
        0,
    )  # the second row's first tile


def test_a_missing_result_is_a_grey_placeholder() -> None:
    sheet = compose([[Tile("a", _picture((64, 64), (255, 0, 0))), Tile("failed", None)]], tile_size=64)
    assert sheet.getpixel((sheet.width * 3 // 4, sheet.height // 3)) == (200, 200, 200)


def test_empty_sheet_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one tile"):
        compose([])


def test_written_atomically_and_never_overwritten(tmp_path: Path) -> None:
    sheet = compose([[Tile("a", _picture((20, 20), (1, 2, 3)))]], tile_size=32)
    path = write(sheet, tmp_path / "sheets" / "contact.png")
    with Image.open(path) as written:
        assert written.size == sheet.size
    with pytest.raises(FileExistsError):
        write(sheet, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["contact.png"]


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    sheet = compose([[Tile("a", None)]], tile_size=32)
    with pytest.raises(ValueError, match="image suffix"):
        write(sheet, tmp_path / "contact.txt")


def _sheet_of(out: str) -> Path:
    (line,) = [line for line in out.splitlines() if line.startswith("contact sheet: ")]
    return Path(line.removeprefix("contact sheet: "))


def test_the_sheet_is_a_luigi_task_skipped_when_complete(roots, make_photo, multistyle, capsys) -> None:
    import shutil

    from pset_4.cli import main

    make_photo(roots.remote_images / "a.jpg")
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    argv = ["-i", "a.jpg", "-m", "multi.onnx", "--style", "3", "--style", "11"]
    assert main(argv) == 0
    sheet = _sheet_of(capsys.readouterr().out)
    stamp = sheet.stat().st_mtime_ns
    assert (roots.remote / "contact_sheets" / sheet.name).read_bytes() == sheet.read_bytes()
    assert main(argv) == 0
    assert sheet.stat().st_mtime_ns == stamp
    with Image.open(sheet) as picture:
        assert picture.width >= 3 * 256  # the photo, then two results, each at least 256 px
        assert picture.height >= 256


def test_captions_name_the_model_and_the_style() -> None:
    from pset_4.tasks.contact_sheet import style_caption

    assert style_caption("multistyle26.onnx", "9") == "multistyle26 style 9"
    assert style_caption("multistyle26.onnx", "3:0.5,12:0.5") == "multistyle26 blend 3:0.5,12:0.5"
    assert style_caption("candy.pth", None) == "candy"
