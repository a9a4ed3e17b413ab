"""Strength and colour preservation, as pure functions and around any Stylizer."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from neural_style.color import ColorStylizer, blend, check_strength, preserve_color, with_color
from neural_style.errors import NeuralStyleError
from neural_style.stylizer import Stylizer

pictures = arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(3)))


class Invert(Stylizer):
    """A stand-in model: the photo's negative (a real computation, no mocking)."""

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        return 255 - rgb


def _luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb, "RGB").convert("YCbCr"))[..., 0].astype(int)


@given(pictures, st.floats(0, 1))
def test_blend_lies_between_photo_and_stylization(photo: np.ndarray, strength: float) -> None:
    stylized = 255 - photo
    mixed = blend(stylized, photo, strength).astype(int)
    low, high = np.minimum(photo, stylized), np.maximum(photo, stylized)
    assert ((mixed >= low) & (mixed <= high)).all()


@given(pictures)
def test_blend_at_the_ends_gives_photo_or_stylization(photo: np.ndarray) -> None:
    stylized = 255 - photo
    assert (blend(stylized, photo, 1.0) == stylized).all()
    assert (blend(stylized, photo, 0.0) == photo).all()


# Mid-range colours: the merged picture needs no clipping back into RGB, only rounding.
mid_pictures = arrays(
    np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(3)), elements=st.integers(96, 160)
)


@given(mid_pictures, mid_pictures)
def test_preserve_color_keeps_the_stylizations_luminance(photo: np.ndarray, other: np.ndarray) -> None:
    stylized = np.resize(other, photo.shape)
    kept = preserve_color(stylized, photo)
    assert np.abs(_luma(kept) - _luma(stylized)).max() <= 2


def test_preserve_color_takes_the_photos_colour() -> None:
    photo = np.zeros((8, 8, 3), np.uint8)
    photo[..., 0] = 200  # red
    gray = np.full((8, 8, 3), 120, np.uint8)
    kept = preserve_color(gray, photo)
    assert (kept[..., 0] > kept[..., 1]).all()
    assert (kept[..., 0] > kept[..., 2]).all()


@pytest.mark.parametrize("strength", [-0.01, 1.01, float("nan"), float("inf")])
def test_strength_outside_zero_to_one_is_refused(strength: float) -> None:
    with pytest.raises(NeuralStyleError, match="between 0 and 1"):
        check_strength(strength)


def test_with_color_returns_the_model_itself_when_nothing_changes() -> None:
    model = Invert()
    assert with_color(model) is model


def test_color_stylizer_blends_any_model_with_the_photo() -> None:
    photo = np.full((6, 6, 3), 40, np.uint8)
    half = ColorStylizer(Invert(), strength=0.5).stylize_array(photo)
    assert (half == np.rint(0.5 * 215 + 0.5 * 40)).all()


def test_color_stylizer_keeps_the_photos_colour_for_any_model() -> None:
    photo = np.zeros((6, 6, 3), np.uint8)
    photo[..., 2] = 220  # blue
    kept = ColorStylizer(Invert(), keep_color=True).stylize_array(photo)
    assert (kept[..., 2] > kept[..., 0]).all()


def test_color_stylizer_passes_the_style_choice_through() -> None:
    with pytest.raises(NeuralStyleError, match="single style"):
        ColorStylizer(Invert(), strength=0.5).with_style(3)
