"""Where the workflow keeps its data, configured the Luigi way: luigi.cfg ``[pset_4]``, environment, CLI.

One :class:`Pset4Config` (a ``luigi.Config``) holds the ``[pset_4]`` options. Precedence: a value the command
line sets for its run (:func:`configured`) > ``$PSET4_*`` (read into Luigi's configuration once, when the
configuration is first resolved) > luigi.cfg > the built-in default. Worker processes Luigi forks inherit it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import luigi
import luigi.configuration

SECTION = "pset_4"
REMOTE_ENV = "PSET4_REMOTE_ROOT"
CACHE_ENV = "PSET4_CACHE_ROOT"
THREADS_ENV = "PSET4_ENGINE_THREADS"
DEFAULT_REMOTE = "data/remote"
DEFAULT_CACHE = "data"
# Seconds a run waits for a central scheduler to answer before it gives up (luigid's own RPC timeout is 10 s).
DEFAULT_SCHEDULER_TIMEOUT = 10.0

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

_environment_read = False


class Pset4Config(luigi.Config):
    """The ``[pset_4]`` section of Luigi's configuration."""

    @classmethod
    def get_task_family(cls) -> str:
        """Read the ``[pset_4]`` section (Luigi names a Config's section after its family)."""
        return SECTION

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


@dataclass(frozen=True)
class WorkflowSettings:
    """The two roots every task resolves its locations against, and the engine's thread cap.

    ``remote_root`` is a folder path, ``file://`` URL or ``s3://bucket/prefix``; ``cache_root`` is a local
    folder. Both hold ``images/``, ``saved_models/`` and ``stylized/``. ``scheduler_connect_timeout`` bounds
    the wait for a central scheduler's first answer, in seconds.
    """

    remote_root: str
    cache_root: str
    engine_threads: int | None = None
    scheduler_connect_timeout: float = DEFAULT_SCHEDULER_TIMEOUT


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Return how many engine threads each of ``workers`` processes on this machine should use."""
    available = cores if cores is not None else len(os.sched_getaffinity(0))
    return max(1, available // max(1, workers))


def read_environment(environ: Mapping[str, str] | None = None) -> None:
    """Copy ``$PSET4_*`` into Luigi's configuration, once per process (later calls do nothing)."""
    global _environment_read  # the configuration is process-wide, and so is this flag
    if _environment_read:
        return
    env = os.environ if environ is None else environ
    for option, variable in ENVIRONMENT.items():
        if env.get(variable):
            _set(option, env[variable])
    _environment_read = True


def _set(option: str, value: str) -> None:
    """Set ``[pset_4] option`` in Luigi's configuration, making the section if luigi.cfg has none."""
    config = luigi.configuration.get_config()
    if not config.has_section(SECTION):
        config.add_section(SECTION)
    config.set(SECTION, option, value)


@contextmanager
def configured(
    *, remote_root: str | None = None, cache_root: str | None = None, engine_threads: int | None = None
) -> Iterator[WorkflowSettings]:
    """Set the given ``[pset_4]`` options for the block (a command line's overrides); restore them after."""
    read_environment()
    config = luigi.configuration.get_config()
    wanted = {"remote_root": remote_root, "cache_root": cache_root, "engine_threads": engine_threads}
    before = {k: config.get(SECTION, k, None) for k, v in wanted.items() if v is not None}
    try:
        for option, value in wanted.items():
            if value is not None:
                _set(option, str(value))
        yield resolve_settings()
    finally:
        for option, value in before.items():
            if value is None:
                config.remove_option(SECTION, option)
            else:
                config.set(SECTION, option, value)


def resolve_settings(
    *,
    remote_root: str | None = None,
    cache_root: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> WorkflowSettings:
    """Return the settings: explicit argument > ``environ`` (if given) > Luigi's ``[pset_4]`` > default.

    The default remote is a local folder so the workflow runs offline with no account; pointing
    ``remote_root`` at ``s3://bucket/prefix`` is the only change needed to run on S3. ``engine_threads``
    caps the threads each stylizing process uses; unset, the engine takes every core.

    :raises ValueError: ``engine_threads`` is not a whole number >= 1 (the message names the setting)
    """
    read_environment()
    if remote_root is None and cache_root is None and environ is None:
        return _from_configuration()
    return _resolve(Pset4Config(), remote_root, cache_root, {} if environ is None else environ)


# Settings by the configuration they were read from: tasks ask for them dozens of times per pair, and
# building the luigi.Config each time was a third of the workflow's own cost per pair.
_resolved: dict[tuple[object, ...], WorkflowSettings] = {}
_RESOLVED_KEPT = 32


def _from_configuration() -> WorkflowSettings:
    """Return the settings Luigi's configuration gives now, read again only when what it holds changed."""
    from luigi.cmdline_parser import CmdlineParser

    config = luigi.configuration.get_config()
    section = tuple(config.items(SECTION)) if config.has_section(SECTION) else ()
    # `luigi --module ...` can also set [pset_4] values as command-line flags, held by its parser.
    key = (id(config), section, CmdlineParser.get_instance())
    settings = _resolved.get(key)
    if settings is None:
        settings = _resolve(Pset4Config(), None, None, {})
        if len(_resolved) >= _RESOLVED_KEPT:
            _resolved.clear()
        _resolved[key] = settings
    return settings


def _resolve(
    config: Pset4Config, remote_root: str | None, cache_root: str | None, env: Mapping[str, str]
) -> WorkflowSettings:
    """Combine explicit values, ``env`` and the ``[pset_4]`` section into settings (see resolve_settings)."""
    remote = remote_root or env.get(REMOTE_ENV) or config.remote_root or DEFAULT_REMOTE
    cache = cache_root or env.get(CACHE_ENV) or config.cache_root or DEFAULT_CACHE
    threads_text = str(env.get(THREADS_ENV) or config.engine_threads or "").strip()
    return WorkflowSettings(
        remote_root=str(remote).rstrip("/") or "/",
        cache_root=str(cache),
        engine_threads=_threads(threads_text),
        scheduler_connect_timeout=_seconds(str(config.scheduler_connect_timeout).strip()),
    )


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
