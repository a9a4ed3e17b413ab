"""``pset-4 --all-styles``: every style of each model, and a contact sheet that wraps into a grid."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from neural_style.sheet import CAPTION_HEIGHT, MARGIN, MAX_COLUMNS
from neural_style.styles import style_count
from pset_4.cli import main


@pytest.fixture
def remote_with_model(roots, make_photo, multistyle):
    make_photo(roots.remote_images / "a.jpg", width=40, height=32)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    return roots


def _sheet_of(out: str) -> Path:
    (line,) = [line for line in out.splitlines() if line.startswith("contact sheet: ")]
    return Path(line.removeprefix("contact sheet: "))


@pytest.mark.slow
def test_all_styles_stylizes_every_style_and_draws_one_grid(remote_with_model, multistyle, capsys) -> None:
    styles = style_count(multistyle)
    assert main(["-i", "a.jpg", "-m", "multi.onnx", "--all-styles", "--max-size", "32"]) == 0
    published = sorted((remote_with_model.remote / "stylized").iterdir())
    assert len(published) == styles
    for index in range(styles):
        assert [path for path in published if f"--s{index}--" in path.name], f"style {index} is missing"
    lines = -(-(styles + 1) // MAX_COLUMNS)
    with Image.open(_sheet_of(capsys.readouterr().out)) as sheet:
        cell_w, cell_h = sheet.width // MAX_COLUMNS, sheet.height // lines
        assert cell_h - cell_w == CAPTION_HEIGHT
        assert cell_w >= 256 + 2 * MARGIN


def test_all_styles_with_style_is_a_usage_error(remote_with_model, capsys) -> None:
    assert main(["-i", "a.jpg", "-m", "multi.onnx", "--all-styles", "--style", "3"]) == 2
    err = capsys.readouterr().err
    assert "--all-styles" in err
    assert len(err.strip().splitlines()) == 1
    assert not (remote_with_model.remote / "stylized").exists()


def test_all_styles_of_a_multi_style_model_are_its_style_indices(remote_with_model, multistyle) -> None:
    from pset_4.batch import resolve_batch

    batch = resolve_batch(images=["a.jpg"], models=["multi.onnx"], all_styles=True)
    assert batch.model_columns() == [("multi.onnx", str(i)) for i in range(style_count(multistyle))]
