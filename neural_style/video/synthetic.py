"""Generated clips for tests, benchmarks and demos: moving shapes over texture, a pan, a scene cut, a tone.

Nothing is downloaded or committed; every clip is drawn here and encoded with PyAV.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from csci_utils.io import atomic_write

AUDIO_RATE = 44_100
_AUDIO_FRAME = 1024


@dataclass(frozen=True)
class ClipSpec:
    """What :func:`make_clip` draws and how it encodes it.

    ``cut_at`` is the frame index where a different scene starts (``None``: no cut). ``frame_times``, if
    given, are each frame's time in seconds (a variable frame rate); otherwise frames are ``1 / fps`` apart.
    """

    width: int = 64
    height: int = 48
    fps: int = 30
    seconds: float = 1.0
    cut_at: int | None = None
    audio: bool = True
    audio_streams: int = 1
    rotation: int = 0
    frame_times: Sequence[float] | None = None
    codec: str = "libx264"
    keyframe_interval: int = 15
    seed: int = 0

    @property
    def frame_count(self) -> int:
        """How many frames the clip has."""
        if self.frame_times is not None:
            return len(self.frame_times)
        return round(self.seconds * self.fps)


@functools.lru_cache(maxsize=4)
def _texture(width: int, height: int, seed: int) -> np.ndarray:
    """Draw a wide textured background (twice the width, for panning): gradients, stripes and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0 : 2 * width].astype(np.float32)
    channels = [
        120
        + 60 * np.sin(x / (4 + 2 * c) + rng.uniform(0, 6)) * np.cos(y / (5 + c))
        + 40 * np.sin(x / 23 + y / 17)
        for c in range(3)
    ]
    base = np.stack(channels, axis=-1) + rng.normal(0, 6, (height, 2 * width, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def draw_frame(spec: ClipSpec, index: int) -> np.ndarray:
    """Frame ``index`` of the clip: a panning textured background with a square and a disc moving over it."""
    scene = 1 if spec.cut_at is not None and index >= spec.cut_at else 0
    background = _texture(spec.width, spec.height, spec.seed + 101 * scene)
    if scene:
        background = 255 - background[:, ::-1]
    pan = (index * max(spec.width // 48, 1)) % spec.width
    frame = background[:, pan : pan + spec.width].copy()  # never draw on the cached texture
    side = max(spec.height // 4, 4)
    x = (3 * index) % max(spec.width - side, 1)
    y = spec.height // 3
    frame[y : y + side, x : x + side] = (230, 40, 40) if not scene else (40, 220, 60)
    yy, xx = np.mgrid[0 : spec.height, 0 : spec.width]
    cx = spec.width - 1 - (2 * index) % spec.width
    cy = 2 * spec.height // 3 + int(spec.height / 8 * np.sin(index / 5))
    disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= (spec.height // 6) ** 2
    frame[disc] = (30, 60, 220)
    return frame


def make_clip(path: str | os.PathLike[str], spec: ClipSpec | None = None) -> Path:
    """Encode the clip ``spec`` describes to ``path`` (format from the suffix), atomically."""
    spec = spec or ClipSpec()
    time_base = Fraction(1, 90_000) if spec.frame_times is not None else Fraction(1, spec.fps * 512)
    target = Path(path)
    with atomic_write(target, "wb", as_file=False) as tmp:
        container = av.open(str(tmp), "w", format=_format_of(target))
        try:
            video = container.add_stream(
                spec.codec, rate=spec.fps, options={"g": str(spec.keyframe_interval)}
            )
            if not isinstance(video, av.video.stream.VideoStream):
                msg = f"{spec.codec} is not a video codec"
                raise ValueError(msg)
            video.width, video.height = spec.width, spec.height
            video.pix_fmt = "yuv420p" if spec.codec == "libx264" else video.pix_fmt
            video.codec_context.time_base = time_base
            video.time_base = time_base
            if spec.rotation:
                video.set_display_rotation(spec.rotation)
            audio = (
                [
                    container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
                    for _ in range(spec.audio_streams)
                ]
                if spec.audio
                else []
            )
            for index in range(spec.frame_count):
                frame = av.VideoFrame.from_ndarray(draw_frame(spec, index), format="rgb24")
                seconds = spec.frame_times[index] if spec.frame_times is not None else index / spec.fps
                frame.pts, frame.time_base = round(seconds / time_base), time_base
                for packet in video.encode(frame):
                    container.mux(packet)
            for packet in video.encode(None):
                container.mux(packet)
            end = spec.frame_times[-1] + 1 / spec.fps if spec.frame_times is not None else spec.seconds
            for number, stream in enumerate(audio):
                _write_tone(container, stream, end, 440.0 * (number + 1))
        finally:
            container.close()
    return target


def _write_tone(
    container: av.container.OutputContainer, stream: av.audio.stream.AudioStream, seconds: float, pitch: float
) -> None:
    samples = int(seconds * AUDIO_RATE)
    t = np.arange(samples, dtype=np.float64) / AUDIO_RATE
    tone = (0.3 * np.sin(2 * np.pi * pitch * t)).astype(np.float32)[None]
    for start in range(0, samples, _AUDIO_FRAME):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(tone[:, start : start + _AUDIO_FRAME]), format="flt", layout="mono"
        )
        frame.sample_rate, frame.pts = AUDIO_RATE, start
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def _format_of(path: Path) -> str:
    return {".mkv": "matroska", ".mov": "mov", ".avi": "avi"}.get(path.suffix.lower(), "mp4")
