"""Stylize one file in this process, keeping recently used models loaded between tasks."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pset_4.settings import resolve_settings

if TYPE_CHECKING:
    from neural_style.engine import Stylizer

log = logging.getLogger(__name__)


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
    from neural_style.image import load_image

    threads = resolve_settings().engine_threads
    stylizer = _cached_model(Path(model), _stamp(Path(model)), style, threads)
    stylizer = with_color(stylizer, strength=strength, keep_color=preserve_color)
    picture = stylizer.stylize(load_image(content_image))
    picture.save(output_image)


def _stamp(path: Path) -> tuple[int, int]:
    """Size and mtime: a replaced model file is loaded again, not served from the cache."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=4)
def _cached_model(path: Path, stamp: tuple[int, int], style: str | None, threads: int | None) -> Stylizer:
    """Load a model once per (file version, style, thread cap) in this process."""
    # Imported here: torch and onnxruntime take a second to load; a rerun with nothing to do needs neither.
    from neural_style.engine import load_model

    log.debug("loading %s (style %s)", path, style)
    return load_model(path, style=style, threads=threads)
