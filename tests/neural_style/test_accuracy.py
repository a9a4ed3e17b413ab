"""The engine gives the example's picture at every size: within one level of its network run in float64.

InstanceNorm statistics over a large map are where float32 loses precision (see statistics.py); these
tests use sizes where the old one-pass statistics were two levels off.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from torch.nn import functional as F

from neural_style.torch.model import TransformerNet, UpsampleConvLayer
from neural_style.torch.runner import TorchStylizer
from neural_style.torch.statistics import Moments, image_stats

SIDE = 1580  # 2.5 MP: the largest picture the engine runs in one pass


@pytest.fixture(scope="module")
def photo_rgb(tmp_path_factory: pytest.TempPathFactory, make_photo) -> np.ndarray:
    path = make_photo(tmp_path_factory.mktemp("photo") / "big.png", width=SIDE, height=SIDE)
    with Image.open(path) as image:
        return np.array(image.convert("RGB"))


@pytest.fixture(scope="module")
def net(weights: dict[str, torch.Tensor]) -> TransformerNet:
    network = TransformerNet()
    network.load_state_dict(weights)
    return network.eval()


def banded_conv(x: torch.Tensor, conv: torch.nn.Conv2d, pad: int, rows: int = 64) -> torch.Tensor:
    """The layer's reflection-padded convolution in float64, a band of output rows at a time.

    PyTorch's float64 CPU convolution unfolds its whole input (50 GB for the last layer at 2.5 MP);
    a convolution is local, so bands give the same sums.
    """
    padded = F.pad(x, (pad,) * 4, mode="reflect")
    weight, bias = conv.weight.double(), conv.bias.double()
    kernel, stride = weight.shape[-1], conv.stride[0]
    height = (padded.shape[2] - kernel) // stride + 1
    bands = []
    for start in range(0, height, rows):
        stop = min(start + rows, height)
        band = padded[:, :, start * stride : (stop - 1) * stride + kernel]
        bands.append(F.conv2d(band, weight, bias, stride=stride))
    return torch.cat(bands, dim=2)


@pytest.fixture(scope="module")
def judged(net: TransformerNet, photo_rgb: np.ndarray) -> np.ndarray:
    return example_float64(net, photo_rgb)


def example_float64(net: TransformerNet, photo_rgb: np.ndarray) -> np.ndarray:
    """The example's network, layer by layer, in float64, cut to 8 bits as the example's eval does."""

    def conv(x: torch.Tensor, layer: torch.nn.Module) -> torch.Tensor:
        if isinstance(layer, UpsampleConvLayer):
            x = F.interpolate(x, mode="nearest", scale_factor=layer.upsample)
        return banded_conv(x, layer.conv2d, layer.conv2d.kernel_size[0] // 2)

    def norm(x: torch.Tensor, layer: torch.nn.InstanceNorm2d) -> torch.Tensor:
        return F.instance_norm(x, weight=layer.weight.double(), bias=layer.bias.double(), eps=layer.eps)

    with torch.inference_mode():
        y = torch.from_numpy(photo_rgb).permute(2, 0, 1)[None].double()
        y = torch.relu(norm(conv(y, net.conv1), net.in1))
        y = torch.relu(norm(conv(y, net.conv2), net.in2))
        y = torch.relu(norm(conv(y, net.conv3), net.in3))
        for block in (net.res1, net.res2, net.res3, net.res4, net.res5):
            inner = torch.relu(norm(conv(y, block.conv1), block.in1))
            y = y + norm(conv(inner, block.conv2), block.in2)
        y = torch.relu(norm(conv(y, net.deconv1), net.in4))
        y = torch.relu(norm(conv(y, net.deconv2), net.in5))
        out = conv(y, net.deconv3)
    return out[0].clamp(0, 255).permute(1, 2, 0).numpy().astype(np.uint8)


def assert_same_picture(actual: np.ndarray, expected: np.ndarray) -> None:
    """At most one level apart, and that only where float rounding meets the 8-bit cut.

    With float32 one-pass statistics 0.67% of these values were a level off (and 2 levels with the
    issue's weights); with chunked statistics 0.03%; with the first layer's int8 kernels (PhotoConv,
    where exact: 1.6e-5 of its weights left) 0.44%.
    """
    assert actual.shape == expected.shape
    diff = np.abs(actual.astype(int) - expected.astype(int))
    assert diff.max() <= 1
    assert (diff == 0).mean() > 0.99


@pytest.mark.slow
def test_one_pass_is_within_one_level_of_the_float64_example_at_2_5_megapixels(net, photo_rgb, judged):
    stylizer = TorchStylizer(net, stream_above_pixels=SIDE * SIDE)
    assert_same_picture(stylizer.stylize_array(photo_rgb), judged)


@pytest.mark.slow
def test_strips_are_within_one_level_of_the_float64_example_at_2_5_megapixels(net, photo_rgb, judged):
    stylizer = TorchStylizer(net, stream_above_pixels=SIDE * SIDE - 1)
    assert_same_picture(stylizer.stylize_array(photo_rgb), judged)


@pytest.mark.slow
def test_strips_of_a_read_only_photo_raise_no_warning(net, make_photo, tmp_path):
    """numpy.asarray of a PIL image is read-only; pytest turns any warning into an error here."""
    with Image.open(make_photo(tmp_path / "p.png", width=40, height=36)) as image:
        rgb = np.asarray(image.convert("RGB"))
    assert not rgb.flags.writeable
    out = TorchStylizer(net, stream_above_pixels=100).stylize_array(rgb)
    assert out.shape == (36, 40, 3)


@pytest.mark.parametrize("side", [7, 300, 1100])
def test_image_statistics_match_float64_at_any_size(side):
    generator = torch.Generator().manual_seed(side)
    x = (torch.randn(1, 8, side, side, generator=generator) * 30 + 200).contiguous(
        memory_format=torch.channels_last
    )
    mean, var = image_stats(x)
    exact = x.double()
    exact_var = exact.var(dim=(0, 2, 3), unbiased=False)
    # Float32 rounding of one chunk's statistics, not growing with the map (at 1100 it was 3e-4).
    assert ((mean.double() - exact.mean(dim=(0, 2, 3))).abs() / exact_var.sqrt()).max() < 2e-5
    assert ((var.double() - exact_var).abs() / exact_var).max() < 2e-5


@pytest.mark.slow
def test_moments_take_out_pixels_exactly():
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(3, 50, generator=generator) * 5 + 10
    moments = Moments(3)
    moments.add(50, values.mean(dim=1), values.var(dim=1, unbiased=False))
    moments.remove(values[:, :7])
    mean, var = moments.mean_var()
    torch.testing.assert_close(mean, values[:, 7:].mean(dim=1))
    torch.testing.assert_close(var, values[:, 7:].var(dim=1, unbiased=False))


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8),
    offset=st.floats(min_value=-1e4, max_value=1e4),
    spread=st.floats(min_value=1e-2, max_value=1e3),
)
def test_moments_of_chunks_in_any_split_equal_those_of_the_whole(sizes, offset, spread):
    generator = torch.Generator().manual_seed(len(sizes))
    values = torch.randn(2, sum(sizes), generator=generator, dtype=torch.float64) * spread + offset
    moments = Moments(2)
    for chunk in values.split(sizes, dim=1):
        moments.add(chunk.shape[1], chunk.mean(dim=1), chunk.var(dim=1, unbiased=False))
    assert moments.count == values.shape[1]
    torch.testing.assert_close(moments.mean, values.mean(dim=1), rtol=1e-12, atol=1e-9 * spread)
    torch.testing.assert_close(
        moments.m2 / moments.count, values.var(dim=1, unbiased=False), rtol=1e-9, atol=1e-12 * spread**2
    )


@given(
    channels=st.integers(min_value=1, max_value=15),
    width=st.integers(min_value=1, max_value=300),
    height=st.integers(min_value=1, max_value=40),
    offset=st.floats(min_value=-300, max_value=300),
)
def test_few_channel_statistics_match_float64_for_any_width(channels, width, height, offset):
    generator = torch.Generator().manual_seed(width * 100 + channels)
    x = (torch.randn(1, channels, height, width, generator=generator) * 3 + offset).contiguous(
        memory_format=torch.channels_last
    )
    mean, var = image_stats(x)
    exact = x.double()
    exact_var = exact.var(dim=(0, 2, 3), unbiased=False)
    scale = exact_var.sqrt() + 1e-3
    assert ((mean.double() - exact.mean(dim=(0, 2, 3))).abs() / scale).max() < 1e-4
    assert ((var.double() - exact_var).abs() / (exact_var + 1e-6)).max() < 1e-3
