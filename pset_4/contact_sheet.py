"""A contact sheet: one picture with each source image and its stylized versions side by side.

The layout is :func:`neural_style.sheet.compose` (a row wraps every 7 tiles); this module writes a sheet and
shows a video as a strip of frames side by side (:func:`frame_strip`).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from neural_style.image import save_image, saving_format

# Frames of a stylized video its tile shows.
STRIP_FRAMES = 4


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
