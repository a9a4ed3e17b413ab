"""The engine stylizes exactly as the example's eval computes, loads once, and refuses bad requests."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from torch.nn import functional as F

from neural_style.errors import NeuralStyleError
from neural_style.hardware import resolve_device
from neural_style.loading import load_model, stylize
from neural_style.torch.fast import FastTransformerNet, phase_kernels, space_to_depth_kernels, to_uint8
from neural_style.torch.model import TransformerNet


def reference_stylize(weights: dict[str, torch.Tensor], rgb: np.ndarray) -> np.ndarray:
    """The published network written out as plain functional calls, in float64."""
    w = {k: v.double() for k, v in weights.items()}

    def conv(x, name, stride=1):
        kernel = w[f"{name}.conv2d.weight"]
        pad = kernel.shape[-1] // 2
        return F.conv2d(
            F.pad(x, (pad, pad, pad, pad), mode="reflect"), kernel, w[f"{name}.conv2d.bias"], stride
        )

    def norm(x, name):
        mean = x.mean(dim=(2, 3), keepdim=True)
        var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
        scale, shift = w[f"{name}.weight"].view(1, -1, 1, 1), w[f"{name}.bias"].view(1, -1, 1, 1)
        return (x - mean) / torch.sqrt(var + 1e-5) * scale + shift

    def up(x):
        return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)

    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].double()
    y = torch.relu(norm(conv(x, "conv1"), "in1"))
    y = torch.relu(norm(conv(y, "conv2", 2), "in2"))
    y = torch.relu(norm(conv(y, "conv3", 2), "in3"))
    for i in range(1, 6):
        inner = torch.relu(norm(conv(y, f"res{i}.conv1"), f"res{i}.in1"))
        y = y + norm(conv(inner, f"res{i}.conv2"), f"res{i}.in2")
    y = torch.relu(norm(conv(up(y), "deconv1"), "in4"))
    y = torch.relu(norm(conv(up(y), "deconv2"), "in5"))
    y = conv(y, "deconv3")
    return y[0].permute(1, 2, 0).clamp(0, 255).numpy().astype(np.uint8)


def opened(path) -> Image.Image:
    """Read a picture fully (keeping its format name) and close the file."""
    with Image.open(path) as image:
        image.load()
        copy = image.copy()
        copy.format = image.format
        return copy


def assert_same_picture(actual: np.ndarray, expected: np.ndarray) -> None:
    """At most one level apart per channel (float rounding at the 8-bit cut), almost all identical."""
    assert actual.shape == expected.shape
    diff = np.abs(actual.astype(int) - expected.astype(int))
    assert diff.max() <= 1
    assert (diff == 0).mean() > 0.99


def test_output_matches_a_plain_functional_computation(published_checkpoint, weights, photo):
    result = load_model(published_checkpoint, precision="fp32").stylize(opened(photo))
    assert_same_picture(np.asarray(result), reference_stylize(weights, np.asarray(opened(photo))))


def test_odd_sizes_come_back_rounded_up_to_multiples_of_four(
    published_checkpoint, weights, make_photo, tmp_path
):
    photo = make_photo(tmp_path / "odd.png", width=37, height=22)
    result = load_model(published_checkpoint, precision="fp32").stylize(opened(photo))
    assert result.size == (40, 24)
    assert_same_picture(np.asarray(result), reference_stylize(weights, np.asarray(opened(photo))))


def test_stylize_file_writes_8_bit_rgb_png(published_checkpoint, photo, tmp_path):
    out = stylize(photo, published_checkpoint, tmp_path / "out.png")
    assert out == tmp_path / "out.png"
    written = opened(out)
    assert (written.mode, written.size, written.format) == ("RGB", (48, 40), "PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png", "photo.png"]


def test_content_scale_shrinks_the_photo_first(published_checkpoint, weights, make_photo, tmp_path):
    photo = make_photo(tmp_path / "big.png", width=64, height=48)
    out = stylize(photo, published_checkpoint, tmp_path / "out.png", content_scale=2, precision="fp32")
    small = opened(photo).resize((32, 24), Image.Resampling.LANCZOS)
    assert_same_picture(np.asarray(opened(out)), reference_stylize(weights, np.asarray(small)))


@pytest.mark.slow
def test_one_loaded_model_stylizes_pictures_of_any_size(published_checkpoint, weights, make_photo, tmp_path):
    photos = [
        opened(make_photo(tmp_path / f"{i}.png", width=24 + 4 * i, height=20, seed=i)) for i in range(3)
    ]
    stylizer = load_model(published_checkpoint, precision="fp32")
    for photo in photos:
        expected = reference_stylize(weights, np.asarray(photo))
        assert_same_picture(np.asarray(stylizer.stylize(photo)), expected)


@given(st.lists(st.floats(allow_nan=False, width=32, min_value=-1e6, max_value=1e6), min_size=3, max_size=3))
def test_output_is_clamped_then_truncated_like_the_example(values):
    array = np.array(values, dtype=np.float32).reshape(3, 1, 1)
    expected = np.clip(array, 0, 255).astype(np.uint8)
    assert np.array_equal(to_uint8(torch.from_numpy(array)).numpy(), expected)


def test_stylize_files_writes_every_pair(published_checkpoint, make_photo, tmp_path):
    pairs = [(make_photo(tmp_path / f"in{i}.png", seed=i), tmp_path / f"out{i}.jpg") for i in range(2)]
    written = load_model(published_checkpoint).stylize_files(pairs)
    assert written == [dst for _, dst in pairs]
    assert all(opened(path).format == "JPEG" for path in written)


def test_stylize_files_stops_at_a_bad_photo_keeping_complete_earlier_outputs(
    published_checkpoint, make_photo, tmp_path
):
    good = make_photo(tmp_path / "good.png")
    pairs = [(good, tmp_path / "out0.png"), (tmp_path / "missing.png", tmp_path / "out1.png")]
    with pytest.raises(FileNotFoundError, match=r"missing\.png"):
        load_model(published_checkpoint).stylize_files(pairs)
    assert opened(tmp_path / "out0.png").size == (48, 40)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.png", "out0.png"]


def test_existing_output_is_replaced(published_checkpoint, photo, tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    stylize(photo, published_checkpoint, out)
    assert opened(out).size == (48, 40)


def test_bf16_is_close_to_fp32(published_checkpoint, photo):
    picture = opened(photo)
    fp32 = np.asarray(load_model(published_checkpoint, precision="fp32").stylize(picture), dtype=float)
    bf16 = np.asarray(load_model(published_checkpoint, precision="bf16").stylize(picture), dtype=float)
    psnr = 10 * np.log10(255**2 / np.mean((fp32 - bf16) ** 2))
    assert psnr >= 40


def test_cuda_without_a_gpu_is_a_clear_error(published_checkpoint, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(NeuralStyleError, match="--cuda 0"):
        load_model(published_checkpoint, device="cuda")


def test_unknown_device_is_refused():
    with pytest.raises(NeuralStyleError, match="device"):
        resolve_device("tpu")


def test_unknown_precision_is_refused(published_checkpoint):
    with pytest.raises(NeuralStyleError, match="precision"):
        load_model(published_checkpoint, precision="fp8")


def test_style_index_for_a_single_style_checkpoint_is_refused(published_checkpoint):
    with pytest.raises(NeuralStyleError, match="single style"):
        load_model(published_checkpoint, style=3)


def test_unknown_model_suffix_is_refused(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"x")
    with pytest.raises(NeuralStyleError, match=r"\.pth"):
        load_model(path)


def test_picture_too_small_for_the_network_is_refused(published_checkpoint):
    with pytest.raises(NeuralStyleError, match="at least 5"):
        load_model(published_checkpoint).stylize(Image.new("RGB", (4, 30)))


@pytest.mark.slow
def test_fast_form_equals_the_plain_network(weights, make_photo, tmp_path):
    net = TransformerNet()
    net.load_state_dict(weights)
    fast = FastTransformerNet(net)
    for width, height in [(48, 40), (37, 22), (9, 13)]:
        with Image.open(make_photo(tmp_path / "p.png", width=width, height=height)) as photo:
            batch = torch.from_numpy(np.array(photo)).permute(2, 0, 1)[None].float()
        with torch.inference_mode():
            torch.testing.assert_close(fast(batch), net(batch), rtol=1e-4, atol=2e-3)


def test_fast_form_normalises_each_image_of_a_batch_on_its_own(weights):
    net = TransformerNet()
    net.load_state_dict(weights)
    batch = torch.rand(2, 3, 20, 24) * torch.tensor([255.0, 60.0]).view(2, 1, 1, 1)
    with torch.inference_mode():
        torch.testing.assert_close(FastTransformerNet(net)(batch), net(batch), rtol=1e-4, atol=2e-3)


def test_upsampling_layer_folds_into_phase_kernels():
    layer = torch.nn.Conv2d(5, 4, 3)
    x = torch.randn(1, 5, 7, 6)
    upsampled = F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), mode="reflect")
    expected = F.conv2d(upsampled, layer.weight, layer.bias)
    phases = F.conv2d(
        F.pad(x, (1, 1, 1, 1), mode="replicate"), phase_kernels(layer.weight), layer.bias.repeat(4)
    )
    for index, (a, b) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        block = phases[:, 4 * index : 4 * index + 4, a : a + 7, b : b + 6]
        torch.testing.assert_close(block, expected[:, :, a::2, b::2], rtol=1e-5, atol=1e-5)


def test_few_output_convolution_folds_into_space_to_depth_kernels():
    weight = torch.randn(3, 4, 9, 9)
    x = torch.randn(1, 4, 20, 18)
    expected = F.conv2d(x, weight)
    folded = F.pixel_shuffle(F.conv2d(F.pixel_unshuffle(x, 2), space_to_depth_kernels(weight)), 2)
    torch.testing.assert_close(folded, expected, rtol=1e-4, atol=1e-4)
