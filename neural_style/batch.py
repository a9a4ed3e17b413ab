"""What ``python -m neural_style eval`` runs: one photo, or every photo of a folder into a folder.

:func:`stylize_path` is the one eval path for files, whatever the flags (a model or a style picture,
strength, colour); :func:`stylize_bytes` the same for a photo that comes through a pipe. Both load through
:func:`neural_style.loading.load_stylizer`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from ._background import in_background
from .errors import NeuralStyleError, UsageError
from .image import decode_image, encode_image, saving_format, scale_image
from .loading import load_stylizer, stylize

if TYPE_CHECKING:
    from typing import Unpack

    from .loading import LoadOptions
    from .stylizer import Stylizer

log = logging.getLogger(__name__)


class BatchError(NeuralStyleError):
    """Some photos of a folder could not be stylized; the others were written."""


@dataclass
class BatchResult:
    """What a run wrote and which photos of a folder it could not stylize (with the one-line reason)."""

    written: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)


def photos_in(folder: Path) -> list[Path]:
    """Return the files in ``folder`` whose suffix Pillow reads as an image, sorted by name."""
    readable = {ext for ext, kind in Image.registered_extensions().items() if kind in Image.OPEN}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in readable)


def check_destination(content: str | os.PathLike[str], output: str | os.PathLike[str]) -> None:
    """Refuse (UsageError) an ``output`` that cannot hold a folder run's results; touches nothing.

    With a folder as ``content``, ``output`` must be another folder: not an existing file, not the photo
    folder itself, and not a new name with a picture's suffix (``single.jpg`` would become a folder).
    Nothing is checked for a single photo.
    """
    source, destination = Path(content), Path(output)
    if not source.is_dir():
        return
    if destination.is_dir() and destination.resolve() == source.resolve():
        msg = f"--output-image {destination} is the photo folder itself: choose another, so no photo is lost"
        raise UsageError(msg)
    names_a_file = destination.suffix and saving_format(destination.suffix) is not None
    if not destination.is_dir() and (destination.exists() or names_a_file):
        msg = f"--content-image is a folder, so --output-image must be a folder too, not {destination.name!r}"
        raise UsageError(msg)


def stylize_path(
    content: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    model: str | os.PathLike[str] | None = None,
    content_scale: float | None = None,
    export_onnx: str | os.PathLike[str] | None = None,
    **options: Unpack[LoadOptions],
) -> BatchResult:
    """Stylize one photo (:func:`~neural_style.loading.stylize`), or a folder into a folder with one load.

    A folder's photos keep their names (each written atomically); one that fails is recorded in the
    result and the rest are still done. A bad ``output`` for a folder is refused before the model loads.
    """
    source = Path(content)
    if not source.is_dir():
        written = stylize(
            source, model, output, content_scale=content_scale, export_onnx=export_onnx, **options
        )
        return BatchResult(written=[written])
    if export_onnx is not None:
        msg = "--export_onnx takes one photo as --content-image, not a folder"
        raise UsageError(msg)
    check_destination(source, output)
    return _stylize_folder(load_stylizer(model, **options), source, Path(output), content_scale)


def stylize_bytes(
    photo: bytes,
    image_format: str,
    *,
    model: str | os.PathLike[str] | None = None,
    content_scale: float | None = None,
    name: str = "the photo",
    **options: Unpack[LoadOptions],
) -> bytes:
    """Stylize the photo ``photo`` encodes; return the picture encoded in the Pillow ``image_format``.

    For pipes: nothing is read or written here. ``name`` stands for the photo in errors (exit 4 for one
    that does not decode, as for a file).
    """
    loaded = in_background(lambda: load_stylizer(model, **options), name="neural_style-load")
    try:
        image = scale_image(decode_image(photo, name=name), content_scale)
    except Exception:
        loaded()  # the model's own error, if it has one, comes first
        raise
    return encode_image(loaded().stylize(image), image_format)


def _stylize_folder(
    stylizer: Stylizer, source: Path, destination: Path, content_scale: float | None
) -> BatchResult:
    photos = photos_in(source)
    if not photos:
        msg = f"no photos in {source} (looked for files Pillow can read, such as .jpg and .png)"
        raise FileNotFoundError(msg)
    destination.mkdir(parents=True, exist_ok=True)
    result = BatchResult()
    for photo in photos:
        try:
            written = stylizer.stylize_file(photo, destination / photo.name, content_scale=content_scale)
            result.written.append(written)
        except NeuralStyleError as err:
            reason = " ".join(str(err).split())
            result.failed[photo] = reason if str(photo) in reason else f"{photo}: {reason}"
    return result
