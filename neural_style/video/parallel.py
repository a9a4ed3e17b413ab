"""Stylizing a run of frames several at a time while keeping their order and the stabilizer's.

The style network is nearly all of a frame's cost, and ONNX Runtime (or PyTorch) splitting one frame over
every core wastes a tenth of it synchronising its threads at each layer. Frames are independent until the
stabilizer blends them, so here each of ``frame_threads`` threads stylizes whole frames with a one-thread
stylizer, the optical flow (which needs only source frames) runs on one more thread, and the caller's
thread blends and hands frames on in order. At most ``frame_threads + 1`` frames are in flight.

With every core busy stylizing, OpenCV's own thread pool (DIS flow, remap) only adds hand-offs: one
OpenCV thread costs a quarter less CPU per frame for the flow, so it is set to one while frames run in
parallel (process-wide, restored afterwards; figures: docs/video.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import cv2
import numpy as np

from neural_style.hardware import usable_cores
from neural_style.stylizer import Stylizer

from .flow import Motion
from .stabilize import Stabilizer

# Each frame in flight holds a network's working memory (hundreds of MB at 1080p): past this many, cores
# go to the threads of each frame instead.
MAX_FRAME_THREADS = 4


def split_cores(cores: int | None = None) -> tuple[int, int]:
    """Return ``(frame_threads, threads per frame)`` for ``cores`` (default: every usable core).

    One frame per core, each on one thread, up to :data:`MAX_FRAME_THREADS` frames at once; beyond
    that each frame gets a share of the cores.
    """
    count = usable_cores() if cores is None else max(cores, 1)
    frames = min(count, MAX_FRAME_THREADS)
    return frames, count // frames


def stylize_frame(stylizer: Stylizer, rgb: np.ndarray) -> np.ndarray:
    """Stylize one frame and bring the result back to the frame's size (networks may round sides)."""
    out = stylizer.stylize_array(rgb)
    if out.shape[:2] != rgb.shape[:2]:
        out = cv2.resize(out, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.asarray(out, dtype=np.uint8)


_Pending = tuple["Future[np.ndarray]", "Future[Motion | None] | None"]


def stylized_in_order(
    stylizer: Stylizer,
    frames: Iterable[np.ndarray],
    stabilizer: Stabilizer | None,
    *,
    frame_threads: int = 1,
) -> Iterator[np.ndarray]:
    """Yield the output of each source frame, in order: stylized, then stabilized if ``stabilizer``.

    Up to ``frame_threads`` frames are stylized at once (``stylizer`` must allow calls from several
    threads, as ONNX Runtime sessions and PyTorch modules in eval mode do). An error in any frame is
    raised here; frames not yet started are then dropped.
    """
    if frame_threads < 1:
        msg = f"frame_threads must be at least 1, got {frame_threads}"
        raise ValueError(msg)
    return _in_order(stylizer, frames, stabilizer, frame_threads)


def _in_order(
    stylizer: Stylizer, frames: Iterable[np.ndarray], stabilizer: Stabilizer | None, frame_threads: int
) -> Iterator[np.ndarray]:
    """Yield what :func:`stylized_in_order` promises, with OpenCV on one thread if frames run in parallel."""
    with _opencv_threads(1 if frame_threads > 1 else None):
        yield from _frames_in_flight(stylizer, frames, stabilizer, frame_threads)


def _frames_in_flight(
    stylizer: Stylizer, frames: Iterable[np.ndarray], stabilizer: Stabilizer | None, frame_threads: int
) -> Iterator[np.ndarray]:
    """Keep ``frame_threads`` frames stylizing and the flow one frame ahead; yield outputs in order."""
    network = ThreadPoolExecutor(frame_threads, thread_name_prefix="neural_style-frame")
    tracker = ThreadPoolExecutor(1, thread_name_prefix="neural_style-flow")
    pending: deque[_Pending] = deque()
    try:
        for rgb in frames:
            motion = tracker.submit(stabilizer.track, rgb) if stabilizer is not None else None
            pending.append((network.submit(stylize_frame, stylizer, rgb), motion))
            if len(pending) > frame_threads:
                yield _finish(pending.popleft(), stabilizer)
        while pending:
            yield _finish(pending.popleft(), stabilizer)
    finally:
        network.shutdown(wait=True, cancel_futures=True)
        tracker.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _opencv_threads(count: int | None) -> Iterator[None]:
    """Run the block with OpenCV's pool at ``count`` threads (None: as it is), then put it back."""
    if count is None:
        yield
        return
    before = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def _finish(item: _Pending, stabilizer: Stabilizer | None) -> np.ndarray:
    """Wait for one frame's stylization (and motion) and blend it with the previous output."""
    stylized, motion = item
    output = stylized.result()
    if stabilizer is None or motion is None:
        return output
    return stabilizer.blend(motion.result(), output).frame
