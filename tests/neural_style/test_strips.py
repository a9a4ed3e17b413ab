"""Large photos stream through the network in strips with global InstanceNorm statistics: no seams."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from neural_style.torch.model import load_transformer
from neural_style.torch.runner import TorchStylizer
from neural_style.torch.strips import stylize_in_strips


@pytest.fixture(scope="module")
def stylizer(published_checkpoint):
    """The engine, told never to stream: its one-pass output is the reference."""
    return TorchStylizer(load_transformer(published_checkpoint), stream_above_pixels=10**9)


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))


@pytest.mark.parametrize(("width", "height"), [(80, 96), (83, 61), (64, 130)])
def test_strips_equal_the_one_pass_output_everywhere(stylizer, make_photo, tmp_path, width, height):
    rgb = pixels(make_photo(tmp_path / "p.png", width=width, height=height))
    one_pass = stylizer.stylize_array(rgb).astype(int)
    strips = stylize_in_strips(stylizer.fast, rgb, strip_bytes=1).astype(int)  # the smallest strips: 16 rows
    assert strips.shape == one_pass.shape
    diff = np.abs(strips - one_pass)
    assert diff.max() <= 1  # float rounding at the 8-bit cut only
    assert (diff == 0).mean() > 0.999
    # Where strips meet (every 16 output rows) the rows are as exact as anywhere else: no seam.
    seams = np.arange(16, strips.shape[0], 16)
    assert diff[np.concatenate([seams - 1, seams])].max() <= 1


def test_naive_tiles_would_show_seams(stylizer, make_photo, tmp_path):
    """Why strips share statistics: tiles normalised on their own differ visibly from the whole."""
    rgb = pixels(make_photo(tmp_path / "p.png", width=64, height=64))
    whole = stylizer.stylize_array(rgb).astype(int)
    top = stylizer.stylize_array(rgb[:32]).astype(int)
    assert np.abs(top - whole[:32]).mean() > 2


def test_engine_streams_big_pictures_and_gives_the_same_picture(stylizer, make_photo, tmp_path):
    rgb = pixels(make_photo(tmp_path / "p.png", width=72, height=56))
    one_pass = stylizer.stylize_array(rgb).astype(int)
    streamed = TorchStylizer(stylizer.net, stream_above_pixels=1000).stylize_array(rgb).astype(int)
    assert np.abs(streamed - one_pass).max() <= 1


def test_bf16_strips_stay_close_to_the_bf16_one_pass(published_checkpoint, make_photo, tmp_path):
    rgb = pixels(make_photo(tmp_path / "p.png", width=72, height=56))
    net = load_transformer(published_checkpoint)
    one_pass = TorchStylizer(net, precision="bf16", stream_above_pixels=10**9).stylize_array(rgb)
    streamed = TorchStylizer(net, precision="bf16", stream_above_pixels=1000).stylize_array(rgb)
    mse = np.mean((one_pass.astype(float) - streamed.astype(float)) ** 2)
    assert 10 * np.log10(255**2 / max(mse, 1e-9)) > 35
