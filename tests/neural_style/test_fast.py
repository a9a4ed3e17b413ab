"""The fast inference form's rewrites are exact: norms as clips folded into the next convolution,
the phase maps gathered by strided views, the residual stream carried up to constants."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from neural_style.torch.fast import FastConv, FastNorm, FastTransformerNet, PhaseUpConv, to_uint8
from neural_style.torch.folding import phase_block_order
from neural_style.torch.model import ConvLayer, TransformerNet, UpsampleConvLayer
from neural_style.torch.statistics import image_stats, phase_stats, space_to_depth_stats
from neural_style.torch.views import (
    depth_to_space,
    interleaved_grid,
    phases_grid,
    reflection_padded,
    space_to_depth_grid,
)

from .conftest import random_state_dict


def norm_with(weights: list[float], biases: list[float], *, relu: bool) -> FastNorm:
    norm = nn.InstanceNorm2d(len(weights), affine=True)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor(weights))
        norm.bias.copy_(torch.tensor(biases))
    return FastNorm(norm, relu=relu)


@pytest.mark.parametrize("relu", [True, False])
def test_norm_is_an_affine_of_a_clip_for_every_sign_of_its_weight(relu):
    # The zero weight with a negative bias: ReLU makes that channel 0, not the bias.
    norm = norm_with([-1.5, -0.2, 0.0, 0.3, 2.0], [0.4, -0.3, -0.5, 0.2, -1.0], relu=relu)
    x = torch.randn(1, 5, 9, 7) * 3 + 1
    mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
    scale, shift = norm.affine(mean, var)
    expected = x * scale + shift
    if relu:
        expected = expected.relu()
    (fold_scale, fold_shift), low, high = norm.clip(mean, var)
    clipped = torch.clamp(x, low.view(1, -1, 1, 1), high.view(1, -1, 1, 1))
    got = clipped * fold_scale.view(1, -1, 1, 1) + fold_shift.view(1, -1, 1, 1)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("kernel", "stride"), [(3, 1), (3, 2), (9, 1)])
def test_convolution_folds_an_input_affine_into_its_weights(kernel, stride):
    conv = FastConv(ConvLayer(4, 6, kernel, stride))
    x = torch.randn(1, 4, 15, 12).contiguous(memory_format=torch.channels_last)
    scale, shift = torch.tensor([2.0, -0.5, 0.0, 1.0]), torch.tensor([0.3, -1.0, 0.7, 0.0])
    expected = conv(x * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1))
    torch.testing.assert_close(conv(x, (scale, shift)), expected, rtol=1e-4, atol=1e-4)


def test_phase_grid_views_place_each_phase_pixel_where_the_interleave_does():
    layer = PhaseUpConv(UpsampleConvLayer(3, 2, 3, upsample=2))
    height, width = 5, 4
    phases = layer.phases(torch.randn(1, 3, height, width).contiguous(memory_format=torch.channels_last))
    expected = layer.interleave(phases, height, width)

    bordered = torch.zeros(1, 2, 2 * height + 2, 2 * width + 2).contiguous(memory_format=torch.channels_last)
    interleaved_grid(bordered, 1).copy_(phases_grid(phases, height, width))
    torch.testing.assert_close(bordered[:, :, 1:-1, 1:-1], expected)

    grouped = torch.zeros(1, 8, height + 4, width + 4).contiguous(memory_format=torch.channels_last)
    space_to_depth_grid(grouped, 2).copy_(phases_grid(phases, height, width))
    blocks = [expected[:, :, a::2, b::2] for a in (0, 1) for b in (0, 1)]
    torch.testing.assert_close(grouped[:, :, 2:-2, 2:-2], torch.cat(blocks, dim=1))


def test_fast_form_equals_the_plain_network_for_norm_weights_of_every_sign():
    weights = random_state_dict(seed=3)
    generator = torch.Generator().manual_seed(3)
    for name, tensor in weights.items():
        if ".in" in f".{name}" and name.endswith("weight"):
            signed = torch.randn(tensor.shape, generator=generator)
            signed[::7] = 0.0  # a channel the norm zeroes: its output is relu(bias)
            weights[name] = signed
    net = TransformerNet()
    net.load_state_dict(weights)
    x = torch.rand(1, 3, 36, 29, generator=generator) * 255
    with torch.inference_mode():
        torch.testing.assert_close(FastTransformerNet(net)(x), net(x), rtol=1e-4, atol=2e-3)


def test_names_that_moved_out_of_fast_stay_importable_from_it():
    import neural_style.torch.fast as fast
    from neural_style.torch import folding, statistics, views

    assert fast.phase_kernels is folding.phase_kernels
    assert fast.space_to_depth_kernels is folding.space_to_depth_kernels
    assert fast.image_stats is statistics.image_stats
    assert fast.phases_grid is views.phases_grid


def test_fast_form_leaves_its_input_untouched():
    net = TransformerNet()
    net.load_state_dict(random_state_dict())
    x = torch.rand(2, 3, 20, 16) * 255
    before = x.clone()
    with torch.inference_mode():
        FastTransformerNet(net)(x)
    assert torch.equal(x, before)


def test_fast_form_matches_plain_padding_for_a_tiny_picture():
    net = TransformerNet()
    net.load_state_dict(random_state_dict(seed=1))
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 255
    with torch.inference_mode():
        expected = net(x)
        got = FastTransformerNet(net)(x)
    # The quarter-resolution maps are 2x2 here: their norms divide by tiny spreads, which magnify float32's
    # summation order up to 0.024 (of 255) over 300 random photos; a wrong border would be off by levels.
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=0.05)


def test_depth_to_space_of_phase_blocks_is_pixel_shuffle_of_its_order():
    shuffled = torch.randn(2, 20, 5, 7)
    blocks = phase_block_order(shuffled, dim=1).contiguous(memory_format=torch.channels_last)
    big = depth_to_space(blocks)
    assert big.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(big, F.pixel_shuffle(shuffled, 2))


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    pads=st.tuples(*[st.integers(0, 5)] * 4),
    channels=st.sampled_from([1, 3, 8]),
    into_floats=st.booleans(),
)
def test_reflection_padding_in_one_copy_is_f_pads_and_channels_last(
    height: int, width: int, pads: tuple[int, int, int, int], channels: int, into_floats: bool
) -> None:
    photo = torch.randint(0, 256, (2, height, width, channels), dtype=torch.uint8).permute(0, 3, 1, 2)
    dtype = torch.float32 if into_floats else torch.uint8
    left, right, top, bottom = pads
    if max(left, right) >= width or max(top, bottom) >= height:
        with pytest.raises(RuntimeError):  # F.pad's own error: nothing to reflect that far
            reflection_padded(photo, pads, dtype)
        return
    padded = reflection_padded(photo, pads, dtype)
    assert padded.dtype == dtype
    assert padded.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(padded, F.pad(photo.to(dtype), pads, mode="reflect"))


def test_statistics_of_a_map_in_phase_blocks_are_the_whole_maps():
    big = (torch.randn(1, 3, 18, 14) * 4 + 30).contiguous(memory_format=torch.channels_last)
    blocks = phase_block_order(F.pixel_unshuffle(big, 2), dim=1).contiguous(memory_format=torch.channels_last)
    for got, expected in zip(space_to_depth_stats(blocks), image_stats(big), strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("height", "width"), [(2, 2), (5, 4), (37, 20)])
def test_statistics_of_a_map_in_phase_maps_leave_out_their_unused_row_and_column(height, width):
    layer = PhaseUpConv(UpsampleConvLayer(3, 4, 3, upsample=2))
    small = torch.randn(1, 3, height, width).contiguous(memory_format=torch.channels_last)
    phases = layer.phases(small) * 5 + 20
    big = layer.interleave(phases, height, width).double()
    mean, var = phase_stats(phases, height, width)
    torch.testing.assert_close(mean.double(), big.mean(dim=(0, 2, 3)), rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(var.double(), big.var(dim=(0, 2, 3), unbiased=False), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("output_norm", [True, False])
def test_picture_is_the_forward_pass_cut_to_bytes(output_norm):
    net = TransformerNet(output_norm=output_norm)
    net.load_state_dict(random_state_dict(seed=2), strict=False)
    fast = FastTransformerNet(net)
    generator = torch.Generator().manual_seed(2)
    photo = torch.randint(0, 256, (1, 3, 36, 28), dtype=torch.uint8, generator=generator)
    with torch.inference_mode():
        picture = fast.picture(photo)
        expected = to_uint8(fast(photo)[0]).permute(1, 2, 0)
    assert picture.shape == expected.shape == (36, 28, 3)
    # The output norm's statistics add up in another order: a value on the edge of a level may cross it.
    assert (picture.int() - expected.int()).abs().max() <= int(output_norm)
