"""Sheets of captioned pictures in a grid, and the style chooser: every style of a model on one photo.

:func:`compose` lays out rows of tiles; a row longer than ``max_columns`` wraps onto the next lines, so a
photo with all 26 styles of the default model makes a sheet of 7 x 4 tiles instead of one row 7,000 px
wide. pset_4's contact sheets use the same layout (:mod:`pset_4.contact_sheet`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from .errors import UsageError
from .image import MIN_SIDE, load_image, save_image, saving_format

__all__ = ["MAX_COLUMNS", "TILE_SIZE", "Tile", "compose", "style_sheet"]

BACKGROUND = (255, 255, 255)
MISSING = (200, 200, 200)
TEXT = (0, 0, 0)
CAPTION_HEIGHT = 14
# Large enough to judge a style by; callers may ask for larger.
TILE_SIZE = 256
MARGIN = 4
# Tiles on one line of a sheet: 7 x 256 px fits a laptop's screen, and 26 styles + the photo fill 4 lines.
MAX_COLUMNS = 7


@dataclass(frozen=True)
class Tile:
    """One cell: a caption and its picture (None draws a grey placeholder, e.g. for a failed task)."""

    caption: str
    image: Image.Image | None


def compose(
    rows: Sequence[Sequence[Tile]], *, tile_size: int = TILE_SIZE, max_columns: int = MAX_COLUMNS
) -> Image.Image:
    """Return the sheet: each row's tiles in order, wrapped every ``max_columns`` tiles onto a new line.

    Each picture is fitted into a ``tile_size`` square, its caption under it. Rows of equal length wrap
    alike, so a tile keeps its place across rows (a column of the same style under each photo).
    """
    if tile_size < 16:
        msg = f"tile_size must be at least 16 pixels, got {tile_size}"
        raise ValueError(msg)
    if max_columns < 1:
        msg = f"max_columns must be at least 1, got {max_columns}"
        raise ValueError(msg)
    if not rows or not any(rows):
        msg = "a sheet needs at least one tile"
        raise ValueError(msg)
    lines = [row[start : start + max_columns] for row in rows for start in range(0, len(row), max_columns)]
    cell_w = tile_size + 2 * MARGIN
    cell_h = tile_size + CAPTION_HEIGHT + 2 * MARGIN
    columns = max(len(line) for line in lines)
    sheet = Image.new("RGB", (columns * cell_w, len(lines) * cell_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for r, line in enumerate(lines):
        for c, cell in enumerate(line):
            left, top = c * cell_w + MARGIN, r * cell_h + MARGIN
            if cell.image is None:
                draw.rectangle([left, top, left + tile_size - 1, top + tile_size - 1], fill=MISSING)
            else:
                thumb = ImageOps.contain(cell.image.convert("RGB"), (tile_size, tile_size))
                sheet.paste(
                    thumb, (left + (tile_size - thumb.width) // 2, top + (tile_size - thumb.height) // 2)
                )
            draw.text((left, top + tile_size + 1), _fit(draw, cell.caption, tile_size), fill=TEXT)
    return sheet


def style_sheet(
    content_image: str | os.PathLike[str],
    output_image: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = None,
    tile_size: int = TILE_SIZE,
    max_columns: int = MAX_COLUMNS,
    strength: float = 1.0,
    preserve_color: bool = False,
) -> Path:
    """Write the chooser for ``model`` (default: the pretrained 26-style one): the photo, then every style.

    Each tile is captioned with its style index (``--style``'s value). The photo is shrunk to the tile first,
    so every style runs on a tile-sized picture through one loaded model; the sheet is written atomically.

    :raises UsageError: ``output_image`` has no image suffix, or ``tile_size`` is too small
    """
    from .loading import load_stylizer, multistyle_model_path

    if saving_format(Path(output_image).suffix) is None:
        msg = f"cannot save the sheet as {Path(output_image).name!r}: use a suffix such as .png or .jpg"
        raise UsageError(msg)
    if tile_size < MIN_SIDE:
        msg = f"--tile-size must be at least {MIN_SIDE} pixels, got {tile_size}"
        raise UsageError(msg)
    stylizer = load_stylizer(
        model if model is not None else multistyle_model_path(),
        strength=strength,
        preserve_color=preserve_color,
    )
    photo = _tile_sized(load_image(content_image), tile_size)
    tiles = [Tile(Path(content_image).name, photo)]
    if stylizer.styles > 1:
        tiles += [Tile(f"style {i}", stylizer.with_style(i).stylize(photo)) for i in range(stylizer.styles)]
    else:
        tiles.append(Tile(Path(model or "").stem or "style", stylizer.stylize(photo)))
    return save_image(compose([tiles], tile_size=tile_size, max_columns=max_columns), output_image)


def _tile_sized(image: Image.Image, tile_size: int) -> Image.Image:
    """Return ``image`` shrunk to fit a ``tile_size`` square, each side kept at least :data:`MIN_SIDE`."""
    scale = min(1.0, tile_size / max(image.size))
    scale = max(scale, min(1.0, MIN_SIDE / min(image.size)))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int) -> str:
    """Cut ``text`` so it fits ``width`` pixels, marking the cut with '~'."""
    if draw.textlength(text) <= width:
        return text
    while text and draw.textlength(text + "~") > width:
        text = text[:-1]
    return text + "~"
