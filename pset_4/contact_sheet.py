"""A contact sheet: one picture with each source image and its stylized versions side by side.

A video shows as a strip of frames side by side (:func:`frame_strip`).
"""

from __future__ import annotations

import io
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
# Frames of a stylized video its tile shows.
STRIP_FRAMES = 4


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


def frame_strip(data: bytes, frames: int = STRIP_FRAMES) -> Image.Image:
    """Return ``frames`` evenly spaced frames of the video ``data`` side by side (fewer if it is shorter).

    :raises ValueError: ``data`` is not a video with at least one decodable frame
    """
    import av

    if frames < 1:
        msg = f"a strip needs at least one frame, got {frames}"
        raise ValueError(msg)
    try:
        with av.open(io.BytesIO(data), "r") as container:
            if not container.streams.video:
                msg = "no video stream"
                raise ValueError(msg)
            stream = container.streams.video[0]
            total = sum(1 for packet in container.demux(stream) if packet.size)
            count = max(min(frames, total), 1)
            # Keep only the frames the strip shows: a long clip's every frame would not fit in memory.
            wanted = {round(i * (total - 1) / max(count - 1, 1)) for i in range(count)}
            container.seek(0, stream=stream)
            picked = [
                Image.fromarray(frame.to_ndarray(format="rgb24"))
                for index, frame in enumerate(container.decode(stream))
                if index in wanted
            ]
    except av.error.FFmpegError as err:
        msg = f"not a readable video ({' '.join(str(err).split())})"
        raise ValueError(msg) from None
    if not picked:
        msg = "no video frames"
        raise ValueError(msg)
    width, height = picked[0].size
    strip = Image.new("RGB", (width * len(picked), height))
    for i, picture in enumerate(picked):
        strip.paste(picture.convert("RGB").resize((width, height)), (i * width, 0))
    return strip


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int) -> str:
    """Cut ``text`` so it fits ``width`` pixels, marking the cut with '~'."""
    if draw.textlength(text) <= width:
        return text
    while text and draw.textlength(text + "~") > width:
        text = text[:-1]
    return text + "~"
