"""What a video holds, read once by demuxing (no decoding beyond the first frame): :func:`probe`."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from .errors import VideoInputError


@dataclass(frozen=True)
class VideoInfo:
    """The facts about a clip that stylizing, splitting and joining need.

    ``frame_pts`` are the video frames' timestamps in presentation order (units of ``time_base``), so a
    variable frame rate is kept exactly; ``keyframes`` are indices into it where decoding can start.
    """

    path: Path
    width: int
    height: int
    time_base: Fraction
    frame_pts: tuple[int, ...]
    frame_durations: tuple[int, ...]
    keyframes: tuple[int, ...]
    average_rate: Fraction
    rotation: int
    codec: str
    audio_streams: int

    @property
    def frame_count(self) -> int:
        """How many video frames the clip has."""
        return len(self.frame_pts)

    @property
    def duration(self) -> float:
        """Seconds from the first frame's start to the last frame's end."""
        span = self.frame_pts[-1] - self.frame_pts[0] + self.frame_durations[-1]
        return float(span * self.time_base)

    def seconds_at(self, index: int) -> float:
        """Presentation time of frame ``index``, in seconds from the first frame."""
        return float((self.frame_pts[index] - self.frame_pts[0]) * self.time_base)


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        msg = f"{path}: no such video file"
        raise FileNotFoundError(msg)
    try:
        return av.open(os.fspath(path), "r")
    except av.error.FFmpegError as err:
        msg = f"{path}: not a video file, or truncated ({_reason(err)})"
        raise VideoInputError(msg) from None


def _reason(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return " ".join(str(text).split())


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a clip's video stream layout: size, timing of every frame, keyframes, rotation, audio.

    Raises FileNotFoundError for a missing file and :class:`VideoInputError` for anything that is not a
    decodable video with at least one frame (the message says which).
    """
    source = Path(path)
    with _open(source) as container:
        if not container.streams.video:
            msg = f"{source}: has no video stream"
            raise VideoInputError(msg)
        stream = container.streams.video[0]
        codec = stream.codec_context.name if stream.codec_context is not None else "unknown"
        if stream.codec_context is None or stream.time_base is None:
            msg = f"{source}: unsupported video codec {codec!r}"
            raise VideoInputError(msg)
        timing: list[tuple[int, int, bool]] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                timing.append((packet.pts, packet.duration or 0, packet.is_keyframe))
        except av.error.FFmpegError as err:
            msg = f"{source}: truncated or damaged video ({_reason(err)})"
            raise VideoInputError(msg) from None
        if not timing:
            msg = f"{source}: has no video frames"
            raise VideoInputError(msg)
        if stream.frames and len(timing) < stream.frames:
            msg = f"{source}: truncated video ({len(timing)} of {stream.frames} frames present)"
            raise VideoInputError(msg)
        rotation = _first_frame_rotation(container, stream, source)
        audio = len(container.streams.audio)
        time_base = Fraction(stream.time_base)
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
        width, height = stream.codec_context.width, stream.codec_context.height
    timing.sort()
    pts = tuple(t[0] for t in timing)
    durations = _durations(pts, [t[1] for t in timing], time_base, rate)
    keyframes = tuple(i for i, t in enumerate(timing) if t[2])
    if not keyframes or keyframes[0] != 0:
        keyframes = (0, *keyframes)
    return VideoInfo(
        path=source,
        width=width,
        height=height,
        time_base=time_base,
        frame_pts=pts,
        frame_durations=durations,
        keyframes=keyframes,
        average_rate=rate,
        rotation=rotation,
        codec=codec,
        audio_streams=audio,
    )


def _first_frame_rotation(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, source: Path
) -> int:
    """Decode the first frame: proves the codec is supported and reads the display rotation."""
    container.seek(0, stream=stream)
    try:
        for frame in container.decode(stream):
            return int(frame.rotation or 0)
    except (av.error.FFmpegError, ValueError) as err:
        msg = f"{source}: cannot decode its video ({stream.codec_context.name}: {_reason(err)})"
        raise VideoInputError(msg) from None
    msg = f"{source}: no video frame could be decoded (unsupported codec {stream.codec_context.name!r}?)"
    raise VideoInputError(msg)


def _durations(
    pts: tuple[int, ...], stated: list[int], time_base: Fraction, rate: Fraction
) -> tuple[int, ...]:
    """Each frame lasts until the next; the last one as long as its packet says (else one average frame)."""
    gaps = [b - a for a, b in itertools.pairwise(pts)]
    last = stated[-1] if stated[-1] > 0 else (gaps[-1] if gaps else round(1 / (rate * time_base)))
    return (*gaps, max(int(last), 1))
