"""``stylize_video``: one clip in, one stylized clip out, in this process (the ``video`` command's work)."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from neural_style.stylizer import Stylizer

from .defaults import DEFAULT_CRF, DEFAULT_MAX_SIZE
from .errors import VideoInputError
from .frames import MIN_SIDE, output_size
from .info import probe
from .segments import join_segments, stylize_segment, whole_clip

log = logging.getLogger(__name__)


def stylize_video(
    input_video: str | os.PathLike[str],
    output_video: str | os.PathLike[str],
    stylizer: Stylizer,
    *,
    crf: int = DEFAULT_CRF,
    max_size: int | None = DEFAULT_MAX_SIZE,
    stabilize: bool = True,
    frame_threads: int = 1,
) -> Path:
    """Stylize every frame of ``input_video`` into ``output_video`` (MP4, H.264), keeping timing and audio.

    The output keeps the frame count, every frame's timestamp (so variable frame rates too), the rotation
    and every audio stream (copied unchanged). It appears only when complete; on any error nothing is
    left. Frames larger than ``max_size`` on their long side are shrunk (with a warning). Progress goes
    to stderr when it is a terminal. ``frame_threads`` frames are stylized at once, each on its own
    thread: give a stylizer loaded with ``threads=1`` and one frame thread per core (what the ``video``
    command does; :func:`neural_style.hardware.usable_cores`), which is faster than one frame at a
    time on a stylizer using every core.
    """
    target = Path(output_video)
    if target.suffix.lower() != ".mp4":
        msg = f"the output must be an .mp4 file, got {target.name!r}"
        raise ValueError(msg)
    if target.exists():
        msg = f"{target} already exists; remove it or write elsewhere"
        raise FileExistsError(msg)
    if not target.parent.is_dir():
        msg = f"cannot write {target}: directory {target.parent} does not exist"
        raise FileNotFoundError(msg)
    info = probe(input_video)
    size = output_size(info.width, info.height, max_size)
    if min(size) < MIN_SIDE:
        msg = (
            f"{info.path}: frames of {info.width}x{info.height} are too small to stylize (min {MIN_SIDE} px)"
        )
        raise VideoInputError(msg)
    if max_size is not None and max(info.width, info.height) > max_size:
        log.warning(
            "%s is %dx%d; stylizing at %dx%d (--max-size %d)",
            info.path,
            info.width,
            info.height,
            *size,
            max_size,
        )
    segment = whole_clip(info)
    with (
        tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.stem}-parts-") as work,
        tqdm(total=info.frame_count, unit="frame", disable=not sys.stderr.isatty(), file=sys.stderr) as bar,
    ):
        part = stylize_segment(
            info,
            segment,
            stylizer,
            Path(work) / segment.name,
            crf=crf,
            max_size=max_size,
            stabilize=stabilize,
            progress=bar.update,
            frame_threads=frame_threads,
        )
        return join_segments([(segment, part)], info, target)
