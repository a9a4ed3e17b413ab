"""One photo or a folder of photos through one loaded Stylizer, with strength, colour and style pictures.

What ``python -m neural_style eval`` runs for ``--style-image``, ``--strength``, ``--preserve-color`` and a
folder as ``--content-image``; the workflow can call :func:`load_stylizer` once and
:meth:`Stylizer.stylize_file` per photo.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from .color import check_strength, with_color
from .errors import NeuralStyleError, UsageError
from .image import saving_format
from .stylizer import Stylizer

if TYPE_CHECKING:
    from .precision import Precision

log = logging.getLogger(__name__)


class BatchError(NeuralStyleError):
    """Some photos of a folder could not be stylized; the others were written."""


@dataclass
class BatchResult:
    """What a folder run wrote and which photos it could not stylize (with the one-line reason)."""

    written: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)


def load_stylizer(
    *,
    model: str | os.PathLike[str] | None = None,
    style_image: str | os.PathLike[str] | Image.Image | None = None,
    style: int | str | None = None,
    strength: float = 1.0,
    preserve_color: bool = False,
    device: str = "cpu",
    precision: Precision = "fp32",
    threads: int | None = None,
) -> Stylizer:
    """Load a model (``model``) or the any-picture networks (``style_image``) with strength and colour.

    ``threads`` caps the CPU threads one picture is computed with (default: one per core).

    For a style picture, strength interpolates its style vector towards the photo's own (Ghiasi et al.);
    for a fixed-style model it blends the result with the photo. Nothing is written for a bad style
    picture; the networks load on their own thread while it is read.
    """
    check_strength(strength)
    if model is not None and style_image is not None:
        msg = "give either --model or --style-image, not both"
        raise UsageError(msg)
    if style_image is not None:
        if style is not None:
            msg = "--style picks a style of a multi-style --model; it cannot be used with --style-image"
            raise UsageError(msg)
        from .arbitrary import ArbitraryStyle

        networks = ArbitraryStyle.load(device=device, threads=threads)
        painted = networks.with_style_image(style_image, strength=strength)
        return with_color(painted, keep_color=preserve_color)
    if model is None:
        msg = "give a --model or a --style-image"
        raise UsageError(msg)
    from .loading import load_model  # not .engine: that imports torch, which an .onnx model never needs

    stylizer = load_model(model, device=device, style=style, precision=precision, threads=threads)
    return with_color(stylizer, strength=strength, keep_color=preserve_color)


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
    stylizer: Stylizer,
    content: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    content_scale: float | None = None,
) -> BatchResult:
    """Stylize one photo, or every photo of a folder into a folder under the same names (each atomic).

    A photo that fails in a folder run is recorded in the result and the rest are still done.
    """
    source, destination = Path(content), Path(output)
    if not source.is_dir():
        if not source.exists():
            msg = f"image not found: {source}"
            raise FileNotFoundError(msg)
        return BatchResult(written=[stylizer.stylize_file(source, destination, content_scale=content_scale)])
    check_destination(source, destination)
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
