"""Reading photos into RGB and writing results atomically, with Pillow and numpy (no torchvision).

Pixel semantics follow PyTorch's ``fast_neural_style`` example: RGB values as floats 0..255 in, output
clamped to 0..255 and cut to 8 bits (``astype(uint8)`` truncates; we do the same so a user switching from
the example gets the same picture).
"""

from __future__ import annotations

import io
import logging
import os
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from csci_utils.io import atomic_write_bytes

from .errors import NeuralStyleError, UsageError
from .hardware import usable_cores
from .png import encode_png, encodes

log = logging.getLogger(__name__)

# 256 megapixels: far above any camera's photo (a 4096x4096 image is 16.8 MP) and far below what
# decompression bombs expand to. Pillow's own guard (about 89 MP warns, 179 MP fails) is applied too.
MAX_PIXELS = 1 << 28
# The smallest side TransformerNet accepts: its 9x9 reflection padding needs more than 4 pixels.
MIN_SIDE = 5
# zlib levels 1-3 share its fast match finder. On stylized pictures level 1 takes 0.8x level 3's time for a
# file 2-4% larger, and 0.3x the time of Pillow's default level 6 for one 15-17% larger; OpenCV writes PNGs
# at level 1 by default too.
PNG_COMPRESS_LEVEL = 1
# Run-length matches only (after PNG's row filters): on stylized pictures 10% faster than level 1's match
# finder and 15% smaller files (289 against 346 KB at 512x436), as on flat and graded areas; 5-10% larger
# on pictures of text (a contact sheet's labels).
PNG_COMPRESS_TYPE = zlib.Z_RLE
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


def load_image(path: str | os.PathLike[str], *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Read an image file as an RGB picture, upright as its EXIF orientation says.

    Grayscale, palette, CMYK and 16-bit images are converted to RGB; an alpha channel is dropped as in
    the example. Raises FileNotFoundError for a missing file and NeuralStyleError for a file that is not
    an image, is truncated or corrupt, or has more than ``max_pixels`` pixels (a decompression bomb).
    """
    source = Path(path)
    if not source.is_file():
        msg = f"image not found: {source}"
        raise FileNotFoundError(msg)
    return _decode(source, str(source), max_pixels)


def decode_image(data: bytes, *, name: str = "the picture", max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Return the picture ``data`` encodes (read from a pipe, say) as :func:`load_image` reads a file.

    ``name`` stands for the picture in error messages (NeuralStyleError, as for a file).
    """
    return _decode(io.BytesIO(data), name, max_pixels)


def _decode(source: Path | io.BytesIO, name: str, max_pixels: int) -> Image.Image:
    """Decode ``source`` in full into an upright RGB picture; ``name`` is what errors call it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as opened:
                _check_pixels(name, opened.size, max_pixels)
                opened.load()
                image = ImageOps.exif_transpose(opened)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        msg = f"{name} is too large to decode safely (a possible decompression bomb)"
        raise NeuralStyleError(msg) from err
    except UnidentifiedImageError as err:
        msg = f"{name} is not an image file Pillow can read"
        raise NeuralStyleError(msg) from err
    except NeuralStyleError:
        raise
    except Exception as err:
        # Damaged files make Pillow's decoders fail in many ways (OSError, SyntaxError, struct.error, ...).
        msg = f"{name} is a corrupt or truncated image ({type(err).__name__}: {err})"
        raise NeuralStyleError(" ".join(msg.split())) from err
    return to_rgb(image)


def _check_pixels(name: str, size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        msg = (
            f"{name} is {width}x{height} pixels, more than the {max_pixels} allowed "
            "(a possible decompression bomb); downscale it first"
        )
        raise NeuralStyleError(msg)


def to_rgb(image: Image.Image) -> Image.Image:
    """Return ``image`` as 8-bit RGB; 16-bit grayscale is scaled, not clipped."""
    if image.mode in _SIXTEEN_BIT_MODES:
        array = np.asarray(image, dtype=np.float64) / 257.0
        image = Image.fromarray(np.rint(array).astype(np.uint8), "L")
    return image if image.mode == "RGB" else image.convert("RGB")


def scale_image(image: Image.Image, content_scale: float | None) -> Image.Image:
    """Shrink ``image`` by ``content_scale`` (sides divided and truncated, Lanczos) as the example does."""
    if content_scale is None:
        return image
    if not content_scale > 0 or content_scale == float("inf"):
        msg = f"--content-scale must be a positive number, got {content_scale}"
        raise UsageError(msg)
    width, height = image.size
    size = (int(width / content_scale), int(height / content_scale))
    if min(size) < MIN_SIDE:
        msg = (
            f"--content-scale {content_scale} makes the {width}x{height} image {size[0]}x{size[1]}; "
            f"each side must stay at least {MIN_SIDE} pixels"
        )
        raise UsageError(msg)
    return image.resize(size, Image.Resampling.LANCZOS)


def check_side(image: Image.Image) -> None:
    """Refuse pictures too small for the network, with the reason."""
    if min(image.size) < MIN_SIDE:
        width, height = image.size
        msg = f"the image is {width}x{height} pixels; each side must be at least {MIN_SIDE}"
        raise NeuralStyleError(msg)


def to_array(image: Image.Image) -> np.ndarray:
    """Return an RGB picture as an ``[H, W, 3]`` uint8 array."""
    return np.asarray(to_rgb(image), dtype=np.uint8)


def encode_image(image: Image.Image, image_format: str) -> bytes:
    """Return ``image`` encoded in the Pillow format ``image_format``.

    8-bit PNGs without metadata are encoded on every core by :func:`neural_style.png.encode_png` (3x
    Pillow's speed at 512x436 on two cores); other PNGs by Pillow at :data:`PNG_COMPRESS_TYPE`.
    """
    options: dict[str, int] = {}
    if image_format == "PNG":
        if encodes(image):
            return encode_png(image, pieces=usable_cores())
        options = {"compress_level": PNG_COMPRESS_LEVEL, "compress_type": PNG_COMPRESS_TYPE}
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def save_image(image: Image.Image, path: str | os.PathLike[str], *, overwrite: bool = True) -> Path:
    """Write ``image`` atomically in the format its suffix names; every picture the project writes.

    The picture is encoded in memory and written with checked writes
    (:func:`csci_utils.io.atomic_write_bytes`): Pillow saving to a file hands its encoder the descriptor,
    whose C loop ignores a short write, so a disk filling up mid-write left a truncated picture and no
    error. Here that is an OSError and nothing is written. PNGs are encoded by :func:`encode_image`: fast
    zlib settings, on every core where the picture allows it.

    :param overwrite: replace an existing file (atomically); False raises FileExistsError instead
    :raises UsageError: the suffix names no format Pillow writes
    :raises OSError: the file could not be written whole (full disk, read-only folder, ...)
    """
    destination = Path(path)
    image_format = saving_format(destination.suffix)
    if image_format is None:
        msg = f"cannot save an image as {destination.name!r}: use a suffix such as .jpg or .png"
        raise UsageError(msg)
    atomic_write_bytes(destination, encode_image(image, image_format), overwrite=overwrite)
    log.info("wrote %s", destination)
    return destination


# What a complete file of these formats ends with: JPEG's end-of-image marker, PNG's IEND chunk and its CRC.
_COMPLETE_ENDINGS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}


def check_image_file(path: str | os.PathLike[str]) -> None:
    """Check that the picture file at ``path`` is complete: it decodes to its last byte.

    Cheap next to making the picture: one decode, no conversion. JPEG and PNG must also end with their
    end marker, which a decoder may not insist on.

    :raises NeuralStyleError: the file is not a complete picture (truncated, corrupt, empty)
    """
    source = Path(path)
    try:
        with Image.open(source) as opened:
            image_format = opened.format or ""
            opened.load()
        ending = _COMPLETE_ENDINGS.get(image_format)
        if ending is not None:
            with source.open("rb") as handle:
                handle.seek(-len(ending), os.SEEK_END)
                if handle.read() != ending:
                    msg = f"it does not end with the {image_format} end marker"
                    raise ValueError(msg)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return  # complete, merely large: load_image refuses those where it matters
    except Exception as err:
        msg = f"{source} is not a complete picture ({type(err).__name__}: {err})"
        raise NeuralStyleError(" ".join(msg.split())) from err


def saving_format(suffix: str) -> str | None:
    """Return the Pillow format that saves files ending in ``suffix`` (``".png"`` -> ``"PNG"``), or None.

    The common formats are looked up first: loading every Pillow plugin costs a short command about
    0.1 s, so that happens only for a suffix the common ones lack.
    """
    extension = suffix.lower()
    Image.preinit()
    if extension not in Image.EXTENSION:
        Image.init()
    image_format = Image.EXTENSION.get(extension)
    return image_format if image_format in Image.SAVE else None
