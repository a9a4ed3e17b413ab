"""The workflow's settings, the Luigi way, resolved once per run into one frozen object.

Two sections of Luigi's configuration, each a ``luigi.Config``: ``[pset_4]`` (:class:`Pset4Config`: the roots,
the engine's threads, the wait for a central scheduler) and ``[pset_4_video]`` (:class:`VideoConfig`: what
every machine stylizing a batch's videos must share). For each option: a value the program sets for a block
(:func:`configured`; the command line's ``--remote``, ``--cache``, ``--max-size``) or Luigi's own command-line
flag (``--pset-4-remote-root``) > ``$PSET4_*`` > luigi.cfg > the built-in default.

A run (:func:`pset_4.workflow.run_batch`, the waves, the demo) resolves them once (:func:`resolve_settings`)
into a :class:`WorkflowSettings` and installs it for its duration (:func:`run_settings`): its tasks, on the
worker's threads or in the processes Luigi forks from it, read that one object (:func:`current_settings`).
Every run resolves afresh, so a program that changes its environment or configuration between two runs
gets each run's own settings. Outside a run (``luigi --module pset_4.tasks.stylize ...``) every read
resolves them anew.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import luigi
import luigi.configuration

from neural_style.video.defaults import (
    DEFAULT_CRF,
    DEFAULT_FLOW_SIDE,
    DEFAULT_MAX_SIZE,
    DEFAULT_OVERLAP,
    DEFAULT_SEGMENT_SECONDS,
    X264_PRESET,
)
from pset_4.runtime.registry import command_line_value

SECTION = "pset_4"
VIDEO_SECTION = "pset_4_video"
REMOTE_ENV = "PSET4_REMOTE_ROOT"
CACHE_ENV = "PSET4_CACHE_ROOT"
THREADS_ENV = "PSET4_ENGINE_THREADS"
DEFAULT_REMOTE = "data/remote"
DEFAULT_CACHE = "data"
# Seconds a run waits for a central scheduler to answer before it gives up (luigid's own RPC timeout is 10 s).
DEFAULT_SCHEDULER_TIMEOUT = 10.0
# The smallest long side a video's frames may be shrunk to.
MIN_MAX_SIZE = 16

# Which environment variable overrides which [pset_4] option.
ENVIRONMENT = {"remote_root": REMOTE_ENV, "cache_root": CACHE_ENV, "engine_threads": THREADS_ENV}

# What the offline demo seeds the remote with, and so the default image and model of a run.
DEFAULT_IMAGE = "grace_hopper.jpg"
DEFAULT_MODEL = "multistyle26.onnx"

# Folder names under the roots; the spec's layout (`pset_4/images`, `pset_4/saved_models`).
IMAGES = "images"
MODELS = "saved_models"
STYLE_IMAGES = "style_images"
STYLIZED = "stylized"
CONTACT_SHEETS = "contact_sheets"


class _Section:
    """A ``luigi.Config`` whose options live in the section :attr:`section` names."""

    section: ClassVar[str]

    @classmethod
    def get_task_family(cls) -> str:
        """Return the section's name (Luigi reads a Config's options from the section named after it)."""
        return cls.section


class Pset4Config(_Section, luigi.Config):
    """The ``[pset_4]`` section of Luigi's configuration."""

    section = SECTION

    remote_root = luigi.Parameter(
        default=DEFAULT_REMOTE, description="folder, file:// URL or s3://bucket/prefix: the source of truth"
    )
    cache_root = luigi.Parameter(default=DEFAULT_CACHE, description="this machine's cache folder")
    engine_threads = luigi.Parameter(
        default="", description="threads each stylizing process computes with; empty: one per core"
    )
    scheduler_connect_timeout = luigi.Parameter(
        default=str(DEFAULT_SCHEDULER_TIMEOUT),
        description="seconds to wait for a central scheduler (luigid) to answer before any work",
    )


class VideoConfig(_Section, luigi.Config):
    """The ``[pset_4_video]`` section: options that every machine stylizing one batch must share."""

    section = VIDEO_SECTION

    max_size = luigi.IntParameter(
        default=DEFAULT_MAX_SIZE, description="frames whose long side is larger are shrunk to it"
    )
    segment_seconds = luigi.FloatParameter(
        default=DEFAULT_SEGMENT_SECONDS, description="shortest segment (segments start at keyframes)"
    )


@dataclass(frozen=True)
class VideoSettings:
    """What a stylized video depends on besides its inputs: part of every video output's versioned name."""

    max_size: int = DEFAULT_MAX_SIZE
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS

    def options(self) -> dict[str, Any]:
        """Return every option a stylized video depends on, by name (its output names hash them)."""
        return {
            "max_size": self.max_size,
            "segment_seconds": self.segment_seconds,
            "overlap": DEFAULT_OVERLAP,
            "crf": DEFAULT_CRF,
            "stabilize": True,
            # Not settable, but they change the pixels: a new engine makes new names, never mixed parts.
            "flow_side": DEFAULT_FLOW_SIDE,
            "x264_preset": X264_PRESET,
        }


@dataclass(frozen=True)
class WorkflowSettings:
    """Everything a run's tasks read: the roots, the engine's thread cap, the scheduler wait, video options.

    ``remote_root`` is a folder path, ``file://`` URL or ``s3://bucket/prefix``; ``cache_root`` is a local
    folder. Both hold ``images/``, ``saved_models/`` and ``stylized/``. ``engine_threads`` caps the threads of
    each engine call (None: the engine takes every core). ``scheduler_connect_timeout`` bounds the wait for a
    central scheduler's first answer, in seconds.
    """

    remote_root: str
    cache_root: str
    engine_threads: int | None = None
    scheduler_connect_timeout: float = DEFAULT_SCHEDULER_TIMEOUT
    video: VideoSettings = field(default_factory=VideoSettings)

    def for_workers(self, workers: int) -> WorkflowSettings:
        """Return these settings for ``workers`` tasks at once on this machine: they share its cores.

        Each engine call then gets :func:`threads_per_worker` threads, unless ``engine_threads`` is set.
        """
        if workers <= 1 or self.engine_threads is not None:
            return self
        return replace(self, engine_threads=threads_per_worker(workers))


def machine_cores() -> int:
    """Return the cores this process may run on."""
    return len(os.sched_getaffinity(0))


# What one task may hold at its peak, whatever the photo: ONNX Runtime's one pass below 4 MP and the strips
# of the PyTorch engine above it both stay under it (docs/performance.md), so N workers fit in N times it.
MEMORY_PER_WORKER = 3 * 2**30


def available_memory() -> int:
    """Return the bytes of memory this machine can give new work now (all of it where that is unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def default_workers(pairs: int, *, cores: int | None = None, memory: int | None = None) -> int:
    """Return how many tasks a run does at once when no ``--workers`` is given.

    One per core, since tasks on threads overlap one's Luigi bookkeeping, decoding and fsyncs with another's
    network pass (docs/scaling.md); no more than there are ``pairs``, and no more than the free ``memory``
    holds at :data:`MEMORY_PER_WORKER` each.
    """
    cores = machine_cores() if cores is None else cores
    memory = available_memory() if memory is None else memory
    return max(1, min(cores, pairs, memory // MEMORY_PER_WORKER))


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Return the engine threads each of ``workers`` concurrent tasks gets: together they fill the cores.

    The one rule that splits a machine's cores between workers: each engine oversubscribing them is slower.
    """
    available = cores if cores is not None else machine_cores()
    return max(1, available // max(1, workers))


# The options the program set for a block (configured): above the environment, as a command line's flags.
_set_by_program: set[str] = set()
# The settings of the runs in progress in this process, the innermost last (run_settings).
_runs: list[WorkflowSettings] = []
_SECTIONS = {
    "remote_root": SECTION,
    "cache_root": SECTION,
    "engine_threads": SECTION,
    "max_size": VIDEO_SECTION,
    "segment_seconds": VIDEO_SECTION,
}


@contextmanager
def configured(
    *,
    remote_root: str | None = None,
    cache_root: str | None = None,
    engine_threads: int | None = None,
    max_size: int | None = None,
    segment_seconds: float | None = None,
) -> Iterator[WorkflowSettings]:
    """Set the given options in Luigi's configuration for the block (a command line's); restore them after.

    They take precedence over ``$PSET4_*``. Yields the settings resolved with them (ValueError for a bad one).
    """
    config = luigi.configuration.get_config()
    wanted = {
        "remote_root": remote_root,
        "cache_root": cache_root,
        "engine_threads": engine_threads,
        "max_size": max_size,
        "segment_seconds": segment_seconds,
    }
    given = {option: str(value) for option, value in wanted.items() if value is not None}
    before = {option: config.get(_SECTIONS[option], option, None) for option in given}
    set_before = set(_set_by_program)
    try:
        for option, value in given.items():
            if not config.has_section(_SECTIONS[option]):
                config.add_section(_SECTIONS[option])
            config.set(_SECTIONS[option], option, value)
        _set_by_program.update(given)
        yield resolve_settings()
    finally:
        _set_by_program.intersection_update(set_before)
        for option, value in before.items():
            if value is None:
                config.remove_option(_SECTIONS[option], option)
            else:
                config.set(_SECTIONS[option], option, value)


def resolve_settings(
    *,
    remote_root: str | None = None,
    cache_root: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> WorkflowSettings:
    """Return the settings now: explicit argument > the precedence of the module docstring.

    ``environ`` stands in for ``os.environ``. The default remote is a local folder so the workflow runs
    offline with no account; pointing ``remote_root`` at ``s3://bucket/prefix`` is the only change needed to
    run on S3.

    :raises ValueError: a setting is malformed (the message names it)
    """
    env = os.environ if environ is None else environ
    config = Pset4Config()
    remote = remote_root or _option(config, "remote_root", env) or DEFAULT_REMOTE
    cache = cache_root or _option(config, "cache_root", env) or DEFAULT_CACHE
    return WorkflowSettings(
        remote_root=remote.rstrip("/") or "/",
        cache_root=cache,
        engine_threads=_threads(_option(config, "engine_threads", env).strip()),
        scheduler_connect_timeout=_seconds(str(config.scheduler_connect_timeout).strip()),
        video=_video(VideoConfig()),
    )


def current_settings() -> WorkflowSettings:
    """Return the settings of the run in progress (what its tasks read); outside a run, resolve them now."""
    return _runs[-1] if _runs else resolve_settings()


@contextmanager
def run_settings(settings: WorkflowSettings) -> Iterator[WorkflowSettings]:
    """Make ``settings`` what :func:`current_settings` returns while the block runs (a run's tasks)."""
    _runs.append(settings)
    try:
        yield settings
    finally:
        _runs.pop()


def _option(config: Pset4Config, option: str, env: Mapping[str, str]) -> str:
    """Return ``[pset_4] option``: the program's or Luigi's flag > ``env`` > luigi.cfg > default."""
    value = str(getattr(config, option) or "")
    if option in _set_by_program or command_line_value(SECTION, option) is not None:
        return value
    return env.get(ENVIRONMENT[option]) or value


def _threads(text: str) -> int | None:
    """Return the thread cap ``text`` gives (None when empty); ValueError naming the setting if bad."""
    if not text:
        return None
    try:
        threads = int(text)
    except ValueError:
        threads = 0
    if threads < 1:
        msg = f"{THREADS_ENV} / [{SECTION}] engine_threads must be a whole number >= 1, got {text!r}"
        raise ValueError(msg)
    return threads


def _seconds(text: str) -> float:
    """Return ``[pset_4] scheduler_connect_timeout`` as seconds; ValueError naming the setting if bad."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        msg = f"[{SECTION}] scheduler_connect_timeout must be a number of seconds > 0, got {text!r}"
        raise ValueError(msg)
    return seconds


def _video(config: VideoConfig) -> VideoSettings:
    """Return the ``[pset_4_video]`` options, checked (ValueError names the setting)."""
    if config.max_size < MIN_MAX_SIZE:
        wanted = f"at least {MIN_MAX_SIZE} pixels"
        msg = f"--max-size / [{VIDEO_SECTION}] max_size must be {wanted}, got {config.max_size}"
        raise ValueError(msg)
    if not config.segment_seconds > 0:
        msg = f"[{VIDEO_SECTION}] segment_seconds must be positive, got {config.segment_seconds}"
        raise ValueError(msg)
    return VideoSettings(max_size=int(config.max_size), segment_seconds=float(config.segment_seconds))
