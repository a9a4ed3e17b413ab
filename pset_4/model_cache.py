"""Models loaded once per process and shared by every style and every task that uses them.

One load of a multi-style model serves all its styles (:meth:`Stylizer.with_style` shares the session), so
the cache is keyed by the model file (and version) and the thread cap only, never the style. With
``--workers N`` the tasks run on threads of one process (:mod:`pset_4.runtime.workers`) and share each loaded
model (ONNX Runtime runs one session from several threads at once); the lock makes threads that ask for a
model being loaded wait for that one load. The worker can :func:`preload` models before the build; task
processes Luigi still forks (tasks with a timeout, ``force_multiprocessing``) inherit the loaded pages
instead of loading again per task.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pset_4.settings import current_settings

if TYPE_CHECKING:
    from neural_style.stylizer import Stylizer

log = logging.getLogger(__name__)

# Models one process keeps loaded; a batch names one or a few, so this bounds memory, not hits.
MAX_MODELS = 4


@dataclass(frozen=True)
class _Loaded:
    """A loaded model and the thread cap it was loaded with."""

    stamp: tuple[int, int]
    threads: int | None
    stylizer: Stylizer


_models: dict[tuple[Path, int | None], _Loaded] = {}
_lock = threading.Lock()


def stylize_into(
    content_image: str | os.PathLike[str],
    model: str | os.PathLike[str],
    output_image: str,
    *,
    style: str | None = None,
    strength: float = 1.0,
    preserve_color: bool = False,
) -> None:
    """Stylize ``content_image`` with ``model`` and write the picture to ``output_image`` (a temp path).

    The caller owns atomicity (e.g. a target's ``temporary_path()``); the format follows the suffix.
    ``strength`` below 1 blends the result with the photo; ``preserve_color`` keeps the photo's colours.
    Errors from the engine (corrupt image, broken model) propagate as they are.
    """
    from neural_style.color import with_color
    from neural_style.image import load_image, save_image

    threads = current_settings().engine_threads
    stylizer = with_color(
        cached_model(model, threads=threads).with_style(style), strength=strength, keep_color=preserve_color
    )
    picture = stylizer.stylize(load_image(content_image))
    save_image(picture, output_image)


def cached_model(model: str | os.PathLike[str], *, threads: int | None = None) -> Stylizer:
    """Return the loaded ``model``, loading it only if this process has not got this version of the file.

    A replaced file (other size or mtime) is loaded again. ``threads`` None takes the model with whatever
    cap it was loaded with (e.g. by :func:`preload`); an explicit cap is a load of its own, kept beside the
    others (video segments run one-thread sessions, one frame per core, while photos use several threads).
    """
    path = Path(model).resolve()
    stamp = _stamp(path)
    with _lock:
        for (known, cap), loaded in list(_models.items()):
            if known == path and loaded.stamp != stamp:
                del _models[known, cap]  # the file was replaced: none of its loads is current
        if threads is None:
            loaded_any = next((m for (known, _), m in _models.items() if known == path), None)
            if loaded_any is not None:
                return loaded_any.stylizer
        elif (path, threads) in _models:
            return _models[path, threads].stylizer
        stylizer = _load(path, threads)
        while len(_models) >= MAX_MODELS:
            _models.pop(next(iter(_models)))
        _models[path, threads] = _Loaded(stamp, threads, stylizer)
        return stylizer


def preload(models: Iterable[str | os.PathLike[str]], *, threads: int | None) -> int:
    """Load every model file that exists into this process's cache; return how many are loaded.

    Meant for a worker just before the build: its task threads (or forked task processes, which share the
    pages copy-on-write) then find the model loaded. Missing files are skipped (a first run downloads them
    later; its tasks then load them once, with the same cap).
    """
    count = 0
    for model in models:
        if Path(model).is_file():
            cached_model(model, threads=threads)
            count += 1
    return count


def clear() -> None:
    """Forget every loaded model (tests; a long-lived process that wants the memory back)."""
    with _lock:
        _models.clear()


def _stamp(path: Path) -> tuple[int, int]:
    """Size and mtime: a replaced model file is loaded again, not served from the cache."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _load(path: Path, threads: int | None) -> Stylizer:
    """Load the model file with the engine."""
    # Imported here: the engine's runtimes take a while to import; a rerun with nothing to do needs neither.
    # neural_style.loading imports torch only for checkpoints, never for an .onnx model.
    from neural_style.loading import load_model

    log.debug("loading %s (threads %s)", path, threads)
    return load_model(path, threads=threads)
