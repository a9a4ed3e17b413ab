"""A contact sheet: one picture with each source image and its stylized versions side by side."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from neural_style.image import save_image, saving_format

BACKGROUND = (255, 255, 255)
MISSING = (200, 200, 200)
TEXT = (0, 0, 0)
CAPTION_HEIGHT = 14
# Large enough to judge a style by (issue 14.5); callers may ask for larger.
TILE_SIZE = 256
MARGIN = 4


@dataclass(frozen=True)
class Tile:
    """One cell: a caption and its picture (None draws a grey placeholder, e.g. for a failed task)."""

    caption: str
    image: Image.Image | None


def compose(rows: Sequence[Sequence[Tile]], *, tile_size: int = TILE_SIZE) -> Image.Image:
    """Return the sheet: one row per sequence of tiles, each picture fitted into a ``tile_size`` square."""
    if tile_size < 16:
        msg = f"tile_size must be at least 16 pixels, got {tile_size}"
        raise ValueError(msg)
    if not rows or not any(rows):
        msg = "a contact sheet needs at least one tile"
        raise ValueError(msg)
    cell_w = tile_size + 2 * MARGIN
    cell_h = tile_size + CAPTION_HEIGHT + 2 * MARGIN
    columns = max(len(row) for row in rows)
    sheet = Image.new("RGB", (columns * cell_w, len(rows) * cell_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
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


def write(sheet: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Write ``sheet`` atomically to ``path`` (format from the suffix); never overwrite (FileExistsError)."""
    destination = Path(path)
    if saving_format(destination.suffix) is None:
        msg = f"contact sheet {destination.name!r} needs an image suffix such as .png or .jpg"
        raise ValueError(msg)
    destination.parent.mkdir(parents=True, exist_ok=True)
    return save_image(sheet, destination, overwrite=False)


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int) -> str:
    """Cut ``text`` so it fits ``width`` pixels, marking the cut with '~'."""
    if draw.textlength(text) <= width:
        return text
    while text and draw.textlength(text + "~") > width:
        text = text[:-1]
    return text + "~"
