"""Videos through the workflow: a plan of segments, one task per segment, one task that joins them.

A name under ``<remote>/images/`` with a video suffix (:data:`VIDEO_SUFFIXES`) is a video. Every task here
follows the workflow's rule (docs/workflow-design.md): its output is on the remote, so segments spread over
workers and over machines sharing one luigid, and a killed run resumes at the segments not done.

- :class:`VideoPlan`: probes the clip once and writes where its segments start and stop,
  ``<remote>/stylized/plans/<clip stem>--<hash>.json``.
- :class:`VideoSegment`: stylizes and encodes one segment (with overlap frames from the one before, so the
  stabilizer carries across the boundary), ``<remote>/stylized/segments/<result stem>/part-00003.mp4``.
- :class:`StylizeVideo`: joins the segments by stream copy with the original audio, then publishes the
  result ``<remote>/stylized/<versioned name>.mp4``.

Options every machine of a batch must share live in ``[pset_4_video]`` (:class:`pset_4.settings.VideoConfig`,
resolved with the run's settings); they are part of the versioned names, so changing one makes new outputs
instead of mixing old and new segments.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import luigi
from luigi.target import FileSystemTarget

from csci_utils.luigi.copy import copy_target
from csci_utils.luigi.locations import join, target_for
from csci_utils.luigi.target import SuffixPreservingLocalTarget
from csci_utils.luigi.versions import object_version
from neural_style.errors import NeuralStyleError
from pset_4.failures import ExplainsFailures
from pset_4.naming import version_hash
from pset_4.render import stylizer_for
from pset_4.settings import IMAGES, STYLIZED, current_settings
from pset_4.tasks.data import ContentImage, cache_location, cached_copy
from pset_4.tasks.params import NameParameter
from pset_4.tasks.stylize import Stylize, StylizeBase, StylizeHere

if TYPE_CHECKING:
    from neural_style.video import Segment

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm"})
PLANS = "plans"
SEGMENTS = "segments"
# Seconds between progress lines when stderr is not a terminal.
_PROGRESS_EVERY_S = 2.0


def is_video(name: str) -> bool:
    """Whether an input name is a video (by its suffix), not a picture."""
    return PurePosixPath(name).suffix.lower() in VIDEO_SUFFIXES


def one_line(exception: BaseException) -> str:
    """Return an exception's message on one line."""
    return " ".join(str(exception).split()) or type(exception).__name__


def cached_video(name: str, version: str) -> str:
    """Return this machine's copy of the video ``name``, downloading it if missing or not ``version``."""
    return cached_copy(ContentImage(image=name).output(), cache_location(IMAGES, name), version)


class VideoPlan(ExplainsFailures, luigi.Task):
    """Where a clip's segments start and stop (at keyframes), read once and shared through the remote."""

    video = NameParameter(what="video", description="video file name under <remote>/images")

    def requires(self) -> luigi.Task:
        """Require the video on the remote."""
        return ContentImage(image=self.video)

    def output(self) -> FileSystemTarget:
        """Return the plan: ``<remote>/stylized/plans/<stem>--<hash of the video version, options>.json``."""
        options = current_settings().video.options()
        key = {
            "video": self.video,
            "version": object_version(self.requires().output()) or "missing",
            "segment_seconds": options["segment_seconds"],
            "overlap": options["overlap"],
        }
        name = f"{PurePosixPath(self.video).stem}--{version_hash(key)}.json"
        return target_for(join(current_settings().remote_root, STYLIZED, PLANS, name))

    def run(self) -> None:
        """Download the video if needed, probe it, split it and write the plan (atomically)."""
        from neural_style.video import plan_segments, probe

        version = object_version(self.requires().output()) or "missing"
        info = probe(cached_video(self.video, version))
        options = current_settings().video.options()
        segments = plan_segments(info, options["segment_seconds"], overlap=options["overlap"])
        plan = {
            "video": self.video,
            "frames": info.frame_count,
            "width": info.width,
            "height": info.height,
            "segments": [[s.index, s.start, s.stop, s.overlap] for s in segments],
        }
        with self.output().open("w") as f:
            json.dump(plan, f)
        log.info("%s: %d frames in %d segment(s)", self.video, info.frame_count, len(segments))

    def failure_line(self, exception: BaseException) -> str | None:
        """Report a bad video (not a video, no frames, truncated, unsupported codec) in one line."""
        if isinstance(exception, (ValueError, OSError, NeuralStyleError)):
            text = one_line(exception)
            return text if self.video in text else f"{self.video}: {text}"
        return None


def read_plan(plan: VideoPlan) -> dict[str, Any]:
    """Return a written plan's content."""
    with plan.output().open("r") as f:
        content: dict[str, Any] = json.load(f)
    return content


def plan_segments_of(plan: dict[str, Any]) -> list[Segment]:
    """Return the segments a plan lists."""
    from neural_style.video import Segment

    return [Segment(index=i, start=a, stop=b, overlap=o) for i, a, b, o in plan["segments"]]


class VideoTaskBase(StylizeBase):
    """What the segment and join tasks share: the plan, video options in the name, a ``.mp4`` result."""

    def plan(self) -> VideoPlan:
        """Return the plan task of this video."""
        return VideoPlan(video=self.image)

    def versions(self, *, fresh: bool = False) -> dict[str, str]:
        """Return the remote inputs' versions and the engine's, plus the video options (as text)."""
        options = json.dumps(current_settings().video.options(), sort_keys=True)
        return {**super().versions(fresh=fresh), "video": options}

    def output_name(self, versions: dict[str, str] | None = None) -> str:
        """Return the versioned file name of the stylized video (always ``.mp4``, H.264)."""
        return PurePosixPath(super().output_name(versions)).with_suffix(".mp4").name

    def segment_location(self, root: str, segment: int, versions: dict[str, str] | None = None) -> str:
        """Return where segment ``segment`` of this result lives under ``root`` (the remote or the cache)."""
        folder = PurePosixPath(self.output_name(versions)).stem
        return join(root, STYLIZED, SEGMENTS, folder, f"part-{segment:05d}.mp4")

    def check_result(self, path: str) -> None:
        """Raise if the video at ``path`` is incomplete (it must open and demux to its last frame)."""
        from neural_style.video.info import probe

        probe(path)

    def failure_line(self, exception: BaseException) -> str | None:
        """Report a user's mistake (bad video, bad model) in one line instead of a traceback."""
        if isinstance(exception, (ValueError, OSError, NeuralStyleError)):
            return f"{self} failed: {one_line(exception)}"
        return None


class VideoSegment(VideoTaskBase):
    """Stylize and encode one segment of a video; its part file is on the remote."""

    index = luigi.IntParameter(description="segment number, from 0")

    def requires(self) -> dict[str, luigi.Task]:
        """Require the video and model on the remote, and the plan."""
        return {**super().requires(), "plan": self.plan()}

    def output(self) -> FileSystemTarget:
        """Return the published part: ``<remote>/stylized/segments/<result stem>/part-00003.mp4``."""
        return target_for(self.segment_location(current_settings().remote_root, self.index), binary=True)

    def run(self) -> None:
        """Download what this machine lacks, stylize the segment into its cache, publish it."""
        from neural_style.video import stylize_segment
        from neural_style.video.frames import MIN_SIDE, output_size
        from neural_style.video.parallel import split_cores

        versions = self.versions(fresh=True)
        plan = read_plan(self.plan())
        segment = plan_segments_of(plan)[self.index]
        settings = current_settings()
        options = settings.video.options()
        size = output_size(plan["width"], plan["height"], options["max_size"])
        if min(size) < MIN_SIDE:
            msg = f"{self.image}: frames of {plan['width']}x{plan['height']} are too small (min {MIN_SIDE})"
            raise NeuralStyleError(msg)
        if self.index == 0 and max(plan["width"], plan["height"]) > options["max_size"]:
            log.warning(
                "%s is %dx%d; stylizing at %dx%d (--max-size %d)",
                self.image,
                plan["width"],
                plan["height"],
                *size,
                options["max_size"],
            )
        inputs = self.cached_inputs(versions)
        local_path = self.segment_location(settings.cache_root, self.index, versions)
        local = SuffixPreservingLocalTarget(local_path, format=luigi.format.Nop)
        if not self.has_complete_result(local_path):
            Path(local_path).parent.mkdir(parents=True, exist_ok=True)
            # This task's share of the cores (--workers N: cores // N), one frame per core on one-thread
            # stylizers, as the video command does (neural_style.video.parallel).
            frame_threads, threads = split_cores(settings.engine_threads)
            frames = segment.stop - segment.start
            label = f"{self.image} part {self.index + 1}/{len(plan['segments'])}"
            with (
                local.temporary_path() as temp_path,
                progress_reporter(label, frames, first=segment.start, total=plan["frames"]) as progress,
            ):
                stylize_segment(
                    inputs["image"],
                    segment,
                    stylizer_for(self, inputs, threads=threads),
                    temp_path,
                    crf=options["crf"],
                    max_size=options["max_size"],
                    stabilize=options["stabilize"],
                    progress=progress,
                    threads=threads * frame_threads,
                    frame_threads=frame_threads,
                )
                self.check_result(temp_path)
        published = target_for(self.segment_location(settings.remote_root, self.index, versions))
        if published.path != local.path:
            copy_target(local, target_for(published.path, binary=True))


class StylizeVideo(VideoTaskBase):
    """A stylized video: its segments joined by stream copy with the original audio, then published."""

    def requires(self) -> dict[str, Any]:
        """Require the inputs and the plan, and every segment if the plan was on the remote at first ask.

        The answer is fixed at the first call for a plan location (Luigi reuses task instances, and the
        location changes with the roots and the video): Luigi checks the same requirements again just
        before :meth:`run`, and segments that appeared in between would be unfulfilled then.
        """
        plan = self.plan()
        needs: dict[str, Any] = {**super().requires(), "plan": plan}
        where = plan.output().path
        scheduled = self.__dict__.get("_scheduled_segments")
        if scheduled is None or scheduled[0] != where:
            scheduled = self._scheduled_segments = (where, self.segments())
        if scheduled[1] is not None:
            needs["segments"] = list(scheduled[1])
        return needs

    def segments(self) -> list[VideoSegment] | None:
        """Return the segment tasks the plan lists (None while there is no plan yet)."""
        plan = self.plan()
        if not plan.complete():
            return None
        count = len(read_plan(plan)["segments"])
        return [VideoSegment(**self.param_kwargs, index=i) for i in range(count)]

    def run(self) -> Iterator[list[VideoSegment]]:  # type: ignore[override]  # Luigi: dynamic requirements
        """Run the segments (as dynamic requirements if the plan was new), join them, publish the video."""
        from neural_style.video import join_segments

        segments = self.segments() or []
        if any(not task.complete() for task in segments):
            yield segments
        versions = self.versions(fresh=True)
        local = self.cached_output(versions)
        if not self.has_complete_result(local.path):
            started = time.perf_counter()
            video = cached_video(self.image, versions["image"])
            settings = current_settings()
            parts = []
            for task, segment in zip(segments, plan_segments_of(read_plan(self.plan())), strict=True):
                here = self.segment_location(settings.cache_root, segment.index, versions)
                if not self.has_complete_result(here):
                    Path(here).parent.mkdir(parents=True, exist_ok=True)
                    copy_target(task.output(), target_for(here, binary=True))
                parts.append((segment, here))
            Path(local.path).parent.mkdir(parents=True, exist_ok=True)
            with local.temporary_path() as temp_path:
                join_segments(parts, video, temp_path)
                self.check_result(temp_path)
            log.info("stylized %s in %.2f s -> %s", self, time.perf_counter() - started, local.path)
        published = self.output_for(versions)
        if published.path != local.path:
            copy_target(local, published)


def result_task(params: Mapping[str, Any], *, publish: bool = True) -> StylizeBase:
    """Return the task whose output is ``params["image"]`` stylized: a picture's or a video's.

    :raises ValueError: a video with ``publish=False`` (its segments are shared through the remote)
    """
    image = str(params["image"])
    if is_video(image):
        if not publish:
            msg = f"{image} is a video: its segments are shared through the remote, so it needs publishing"
            raise ValueError(msg)
        return StylizeVideo(**params)
    kind: type[StylizeBase] = Stylize if publish else StylizeHere
    return kind(**params)


@contextmanager
def progress_reporter(label: str, frames: int, *, first: int, total: int) -> Iterator[Any]:
    """Yield a callback counting written frames: a tqdm bar on a terminal, else a log line every 2 s."""
    started = time.perf_counter()
    done = [0]
    last = [started]
    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=frames, desc=label, unit="frame", file=sys.stderr, leave=False)

    def report() -> None:
        elapsed = max(time.perf_counter() - started, 1e-9)
        log.info(
            "%s: frames %d-%d of %d: %d/%d done, %.1f frames/s",
            label,
            first,
            first + frames - 1,
            total,
            done[0],
            frames,
            done[0] / elapsed,
        )

    def advance(count: int) -> None:
        done[0] += count
        if bar is not None:
            bar.update(count)
        # The last frame is left to the closing report: a segment says "N/N done" exactly once.
        elif done[0] < frames and time.perf_counter() - last[0] >= _PROGRESS_EVERY_S:
            last[0] = time.perf_counter()
            report()

    try:
        yield advance
    finally:
        if bar is not None:
            bar.close()
    report()
