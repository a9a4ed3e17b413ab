"""A clip as independent segments: plan them, stylize each one to its own file, join them by stream copy.

Each segment starts at a keyframe, so it decodes on its own, and is preceded by a few *overlap* frames
from the segment before: they run through the stabilizer (warming it up to the state the previous
segment reached) but are not written, so stabilization carries across the boundary without a jump.
Segments are what the workflow fans out over workers and machines; a finished segment's file is complete
(written atomically) and is never redone.
"""

from __future__ import annotations

import heapq
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from csci_utils.io import atomic_write
from neural_style.stylizer import Stylizer

from .defaults import DEFAULT_CRF, DEFAULT_MAX_SIZE, DEFAULT_OVERLAP, DEFAULT_SEGMENT_SECONDS
from .encode import video_writer
from .errors import VideoInputError
from .frames import decode_frames, output_size
from .info import VideoInfo, probe
from .parallel import stylized_in_order
from .stabilize import Stabilizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Segment:
    """Frames ``start`` to ``stop - 1`` of a clip (presentation order), warmed up from ``overlap`` before."""

    index: int
    start: int
    stop: int
    overlap: int

    @property
    def name(self) -> str:
        """The part's file name, sortable: ``part-00003.mp4``."""
        return f"part-{self.index:05d}.mp4"


def plan_segments(
    info: VideoInfo, seconds: float = DEFAULT_SEGMENT_SECONDS, *, overlap: int = DEFAULT_OVERLAP
) -> list[Segment]:
    """Split a clip at keyframes into segments of at least ``seconds`` each (the last may be shorter)."""
    if seconds <= 0:
        msg = f"segment length must be positive, got {seconds}"
        raise ValueError(msg)
    starts = [0]
    for key in info.keyframes:
        if key > 0 and info.seconds_at(key) - info.seconds_at(starts[-1]) >= seconds:
            starts.append(key)
    stops = [*starts[1:], info.frame_count]
    return [
        Segment(index=i, start=a, stop=b, overlap=min(overlap, a))
        for i, (a, b) in enumerate(zip(starts, stops, strict=True))
    ]


def whole_clip(info: VideoInfo) -> Segment:
    """Return the one segment that covers every frame (for a single process)."""
    return Segment(index=0, start=0, stop=info.frame_count, overlap=0)


def stylize_segment(
    source: VideoInfo | str | os.PathLike[str],
    segment: Segment,
    stylizer: Stylizer,
    out_path: str | os.PathLike[str],
    *,
    crf: int = DEFAULT_CRF,
    max_size: int | None = DEFAULT_MAX_SIZE,
    stabilize: bool = True,
    progress: Callable[[int], None] | None = None,
    threads: int | None = None,
    frame_threads: int = 1,
) -> Path:
    """Stylize one segment and write it as an MP4 at ``out_path``, atomically; skip it if already written.

    Timestamps in the part start at 0 (the segment's first frame); :func:`join_segments` puts them back.
    ``progress`` is called with 1 after each written frame. ``threads`` caps the encoder's threads.
    ``frame_threads`` frames are stylized at once, each on its own thread: with a stylizer loaded with
    ``threads=1``, one per core beats one frame at a time on every core (see :mod:`.parallel`).
    """
    target = Path(out_path)
    if target.exists():
        log.info("%s is done already; skipped", target)
        return target
    info = source if isinstance(source, VideoInfo) else probe(source)
    size = output_size(info.width, info.height, max_size)
    stabilizer = Stabilizer() if stabilize else None
    first = segment.start - segment.overlap
    origin = info.frame_pts[segment.start]
    with video_writer(
        target,
        size=size,
        time_base=info.time_base,
        rate=info.average_rate,
        crf=crf,
        rotation=info.rotation,
        threads=threads,
    ) as write:
        frames = decode_frames(info, first, segment.stop, size)
        outputs = stylized_in_order(stylizer, frames, stabilizer, frame_threads=frame_threads)
        for index, output in zip(range(first, segment.stop), outputs, strict=False):
            if index < segment.start:
                continue
            write(output, info.frame_pts[index] - origin, info.frame_durations[index])
            if progress is not None:
                progress(1)
    return target


def join_segments(
    parts: Sequence[tuple[Segment, str | os.PathLike[str]]],
    source: VideoInfo | str | os.PathLike[str],
    out_path: str | os.PathLike[str],
) -> Path:
    """Join stylized parts into one MP4 by stream copy, with every audio stream of ``source`` copied as is.

    Nothing is re-encoded: video packets get their segment's start time back, audio packets are the
    source's own. The output appears only when complete.
    """
    info = source if isinstance(source, VideoInfo) else probe(source)
    ordered = sorted(parts, key=lambda part: part[0].start)
    if not ordered:
        msg = "no segments to join"
        raise ValueError(msg)
    target = Path(out_path)
    with atomic_write(target, "wb", as_file=False) as tmp:
        output = av.open(str(tmp), "w", format="mp4")
        try:
            with av.open(os.fspath(ordered[0][1])) as first:
                video = output.add_stream_from_template(first.streams.video[0])
            video.time_base = info.time_base
            if info.rotation:
                video.set_display_rotation(info.rotation)
            with av.open(os.fspath(info.path)) as original:
                audio = [output.add_stream_from_template(stream) for stream in original.streams.audio]
                streams = [_video_packets(ordered, info, video), _audio_packets(original, audio)]
                for _, _, packet in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
                    output.mux(packet)
        finally:
            output.close()
    return target


PacketItem = tuple[Fraction, int, "av.Packet[Any]"]


def _video_packets(
    parts: Sequence[tuple[Segment, str | os.PathLike[str]]],
    info: VideoInfo,
    stream: av.video.stream.VideoStream,
) -> Iterator[PacketItem]:
    for segment, path in parts:
        offset = Fraction(info.frame_pts[segment.start]) * info.time_base
        with av.open(os.fspath(path)) as part:
            part_stream = part.streams.video[0]
            for packet in part.demux(part_stream):
                if packet.pts is None or packet.size == 0:
                    continue
                base = Fraction(packet.time_base)
                pts = round((packet.pts * base + offset) / info.time_base)
                packet.pts = pts
                packet.dts = (
                    round((packet.dts * base + offset) / info.time_base) if packet.dts is not None else None
                )
                packet.duration = round((packet.duration or 0) * base / info.time_base)
                packet.time_base = info.time_base
                packet.stream = stream
                yield (pts * info.time_base, 0, packet)


def _audio_packets(
    container: av.container.InputContainer, streams: Sequence[av.audio.stream.AudioStream]
) -> Iterator[PacketItem]:
    if not streams:
        return
    by_index = {src.index: dst for src, dst in zip(container.streams.audio, streams, strict=True)}
    try:
        for packet in container.demux(*container.streams.audio):
            if packet.dts is None or packet.size == 0:
                continue
            when = Fraction(packet.dts) * Fraction(packet.time_base)
            packet.stream = by_index[packet.stream.index]
            yield (when, 1, packet)
    except av.error.FFmpegError as err:
        msg = f"{container.name}: damaged audio ({' '.join(str(err).split())})"
        raise VideoInputError(msg) from None
