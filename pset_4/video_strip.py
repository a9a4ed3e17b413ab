"""A strip of frames of a video, side by side in one picture: how the contact sheet shows a clip."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence

from PIL import Image

from csci_utils.luigi.locations import target_for

log = logging.getLogger(__name__)

STRIP_FRAMES = 4


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


def read_strip(locations: Sequence[str], frames: int = STRIP_FRAMES) -> Image.Image | None:
    """Return the strip of the video at the first of ``locations`` that exists (None: none does, or bad)."""
    for location in locations:
        target = target_for(location, binary=True)
        if target.exists():
            with target.open("r") as f:
                data = f.read()
            try:
                return frame_strip(data, frames)
            except ValueError as err:
                log.warning("cannot show %s on the contact sheet: %s", location, err)
                return None
    return None
