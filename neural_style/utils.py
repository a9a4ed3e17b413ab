"""The example's ``utils`` module: ``load_image``, ``save_image``, ``gram_matrix``, ``normalize_batch``.

Compatibility names for code written against PyTorch's ``fast_neural_style`` example, over our image
and training code. Differences, all deliberate: :func:`save_image` writes atomically and refuses an
unknown suffix; :func:`normalize_batch` does not change its argument in place (the example's divides it
by 255 as a side effect); bad files raise FileNotFoundError or NeuralStyleError with a one-line reason.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import image as _image
from .train import gram_matrix, normalize_batch

__all__ = ["gram_matrix", "load_image", "normalize_batch", "save_image"]


def load_image(
    filename: str | os.PathLike[str], size: int | None = None, scale: float | None = None
) -> Image.Image:
    """Read an RGB picture; ``size`` squashes it to ``size`` x ``size``, ``scale`` divides both sides."""
    picture = _image.load_image(filename)
    if size is not None:
        picture = picture.resize((size, size), Image.Resampling.LANCZOS)
    elif scale is not None:
        picture = _image.scale_image(picture, scale)
    return picture


def save_image(filename: str | os.PathLike[str], data: torch.Tensor) -> Path:
    """Write a ``[3, H, W]`` tensor of values 0..255 (clamped, cut to 8 bits) as a picture, atomically."""
    array = data.detach().to("cpu", torch.float32).clamp(0, 255).numpy().transpose(1, 2, 0)
    return _image.save_image(Image.fromarray(array.astype(np.uint8), "RGB"), filename)
