"""oneDNN's int8 convolutions: used only where their sums are exact; a photo's first layer through them."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from neural_style.torch import int8
from neural_style.torch.fast import FastConv
from neural_style.torch.int8 import KERNEL_LIMIT, PhotoConv, column_windows, int8_convolutions_exact
from neural_style.torch.model import ConvLayer

needs_exact_int8 = pytest.mark.skipif(
    not int8_convolutions_exact(), reason="oneDNN's int8 kernels are not exact on this CPU (no VNNI)"
)
x86_only = pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64"), reason="oneDNN's ISA cap is x86's"
)


def photo_bytes(height: int, width: int, seed: int = 0) -> torch.Tensor:
    values = np.random.default_rng(seed).integers(0, 256, (1, 3, height, width), dtype=np.uint8)
    return torch.from_numpy(values).contiguous(memory_format=torch.channels_last)


@x86_only
def test_int8_kernels_that_saturate_are_not_used() -> None:
    # oneDNN limited to AVX2 (no VNNI), as on the AMD machines: its int8 sums saturate, and the first
    # layer keeps its float32 kernels.
    code = (
        "from neural_style.torch.int8 import int8_convolutions_exact as e\n"
        "from neural_style.torch.fast import FastConv\n"
        "from neural_style.torch.model import ConvLayer\n"
        "print(e(), FastConv(ConvLayer(3, 8, 9, 1), photo=True).photo is None)"
    )
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]


@x86_only
def test_without_vnni_widened_int8_sums_are_exact() -> None:
    # The same cap: with each value widened to 16 bits no two products meet in 16 bits, so the sums are
    # exact again, and that is the form the int8 engines take.
    code = (
        "from neural_style.torch.int8 import int8_convolutions_exact as e, exact_int8_form as f\n"
        "print(e(widened=True), f())"
    )
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "widened"]


def test_a_widened_value_is_its_channel_then_a_zero_one() -> None:
    values = torch.from_numpy(np.random.default_rng(1).integers(1, 256, (2, 5, 4, 3), dtype=np.uint8))
    values = values.contiguous(memory_format=torch.channels_last)
    wide = int8.widen(values)
    assert wide.shape == (2, 10, 4, 3)
    assert torch.equal(wide[:, int8.VALUE_BYTE :: 2], values)
    assert not wide[:, 1 - int8.VALUE_BYTE :: 2].any()


@needs_exact_int8
@settings(max_examples=25, deadline=None)
@given(
    scale=st.floats(1e-6, 1e3),
    out_channels=st.integers(1, 40),
    kernel=st.sampled_from([1, 3, 5, 9]),
    seed=st.integers(0, 2**16),
)
def test_the_photo_convolution_leaves_only_its_kernels_rounding(
    scale: float, out_channels: int, kernel: int, seed: int
) -> None:
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(out_channels, 3, kernel, kernel, generator=generator) * scale
    weight[0, 0, 0, 0] = 0.0  # exact zeros stay zeros
    bias = torch.randn(out_channels, generator=generator) * scale
    photo = photo_bytes(kernel + 11, kernel + 7, seed)
    got = PhotoConv(weight, bias)(photo).double()
    expected = F.conv2d(photo.double(), weight.double(), bias.double())
    # Each weight is off by at most 1/(127 * 508) of its channel's largest; float32 adds its rounding.
    largest = weight.abs().amax(dim=(1, 2, 3)).double().view(1, -1, 1, 1)
    photo_sum = F.conv2d(photo.double(), torch.ones(1, 3, kernel, kernel, dtype=torch.float64))
    kernel_error = photo_sum * largest / (KERNEL_LIMIT * 2 * (2 * KERNEL_LIMIT))
    rounding = 1e-6 * (photo_sum * largest + bias.abs().double().view(1, -1, 1, 1))
    assert bool(((got - expected).abs() <= kernel_error + rounding).all())


@needs_exact_int8
def test_a_zero_kernel_gives_its_bias() -> None:
    bias = torch.tensor([0.5, -2.0])
    got = PhotoConv(torch.zeros(2, 3, 3, 3), bias)(photo_bytes(6, 5))
    assert torch.equal(got, bias.view(1, -1, 1, 1).expand(1, 2, 4, 3))


@pytest.mark.parametrize("widened", [False, True], ids=["int8", "widened"])
@pytest.mark.parametrize("stride", [1, 2])
def test_int8_codes_are_the_sums_requantized_with_two_roundings(stride: int, widened: bool) -> None:
    # round(float32(float32(sum * scale) + bias)), cut to 0..255: the multiply and the add each rounded,
    # as the float path of the style-picture transform requantizes.
    if not int8_convolutions_exact(widened=widened):
        pytest.skip("oneDNN's int8 kernels are not exact on this CPU in this form")
    generator = np.random.default_rng(stride)
    kernel = generator.integers(-127, 128, (32, 16, 3, 3)).astype(np.int8)
    pixels = generator.integers(0, 256, (1, 40, 37, 16)).astype(np.uint8)
    values = torch.from_numpy(pixels).permute(0, 3, 1, 2)  # channels_last
    scale = torch.from_numpy(generator.uniform(1e-4, 3e-3, 32).astype(np.float32))
    bias = torch.from_numpy(generator.integers(-20, 280, 32).astype(np.float32))
    requantize = int8.Int8Sums(
        kernel, zero_point=9, stride=stride, scale=scale, bias=bias, codes=True, widened=widened
    )
    codes = requantize(values)
    sums = F.conv2d(values.double() - 9, torch.from_numpy(kernel).double(), stride=stride).float()
    expected = (sums * scale.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)).clamp_(0, 255).round_()
    assert codes.dtype == torch.uint8
    assert torch.equal(codes.float(), expected)


@needs_exact_int8
def test_the_first_layer_takes_a_photos_bytes_in_int8() -> None:
    layer = FastConv(ConvLayer(3, 16, 9, 1), full_precision=True, photo=True)
    assert layer.photo is not None
    photo = photo_bytes(30, 21)
    in_floats = layer(photo.float())
    # Within the kernel's rounding (see the test above), not bit for bit.
    bound = float(in_floats.abs().max()) * 1e-4
    assert not torch.equal(layer(photo), in_floats)
    torch.testing.assert_close(layer(photo), in_floats, rtol=0, atol=bound)


def test_without_int8_the_first_layer_takes_bytes_as_floats() -> None:
    layer = FastConv(ConvLayer(3, 16, 9, 1), full_precision=True, photo=True)
    layer.photo = None  # as on a CPU without exact int8 kernels
    photo = photo_bytes(30, 21)
    assert torch.equal(layer(photo), layer(photo.float()))


def test_other_layers_take_bytes_as_floats() -> None:
    layer = FastConv(ConvLayer(3, 16, 3, 2))
    assert layer.photo is None
    photo = photo_bytes(30, 21)
    assert torch.equal(layer(photo), layer(photo.float()))


@pytest.mark.parametrize("kernel", [5, 9])
def test_column_windows_hold_each_pixels_right_neighbours(kernel: int) -> None:
    photo = photo_bytes(7, 15)
    windows = column_windows(photo, kernel)
    assert windows.shape == (1, 3 * kernel, 7, 15 - kernel + 1)
    for dx in range(kernel):
        assert torch.equal(windows[:, 3 * dx : 3 * dx + 3], photo[:, :, :, dx : dx + 15 - kernel + 1])


@needs_exact_int8
def test_a_wide_kernel_gives_the_same_sums_on_column_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    weight, bias = torch.randn(32, 3, 9, 9), torch.randn(32)
    photo = photo_bytes(40, 52)
    on_windows = PhotoConv(weight, bias)
    monkeypatch.setattr(int8, "_padded", lambda channels: channels)  # no channel groups: tap by tap
    per_tap = PhotoConv(weight, bias)
    assert (on_windows.window, per_tap.window) == (9, 1)
    assert torch.equal(on_windows(photo), per_tap(photo))
