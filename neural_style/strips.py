"""Bounded-memory TransformerNet inference for very large photos: exact, strip by strip, no seams.

Cutting a photo into tiles and stylizing each on its own is wrong for this network: every InstanceNorm
layer normalises with the mean and variance of the *whole* feature map, so tiles would each get their
own colours and contrast (visible seams), and blending overlaps only hides that. Here the full-resolution
layers are instead computed in horizontal strips, each with the few extra rows (the halo) its
convolutions need, and each InstanceNorm gets its statistics from a first streaming pass over the whole
map. Quarter-resolution layers (the residual blocks) are small enough to keep whole. Every pixel is
computed from exactly the values the one-pass network would use, so the output equals the plain forward
pass up to float rounding; peak memory is a few quarter-resolution maps plus one strip.

Costs about a third more arithmetic than one pass (the early and late layers run again for their
statistics), so the engine uses this only above a size threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .model import ConvLayer, TransformerNet, UpsampleConvLayer

log = logging.getLogger(__name__)

# Memory a strip's widest activation may take; strips are at least _MIN_ROWS rows tall so that the
# 9x9 reflection halos (4 rows) always fit inside one strip.
STRIP_BYTES = 48 << 20
_MIN_ROWS = 16


class _Rows:
    """A feature map that can produce any band of its rows, ``[1, C, stop - start, W]``."""

    height: int
    width: int
    channels: int

    def rows(self, start: int, stop: int) -> torch.Tensor:
        raise NotImplementedError


class _Picture(_Rows):
    """The input photo, converted to floats 0..255 a band at a time."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        self.height, self.width, self.channels = rgb.shape

    def rows(self, start: int, stop: int) -> torch.Tensor:
        band = torch.from_numpy(np.ascontiguousarray(self.rgb[start:stop]))
        return band.permute(2, 0, 1).unsqueeze(0).float()


class _Whole(_Rows):
    """A feature map held in memory."""

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor
        _, self.channels, self.height, self.width = tensor.shape

    def rows(self, start: int, stop: int) -> torch.Tensor:
        return self.tensor[:, :, start:stop]


class _Conv(_Rows):
    """A (possibly upsampling) reflection-padded convolution of another map, band by band."""

    def __init__(self, source: _Rows, layer: ConvLayer) -> None:
        self.source = source
        self.conv: nn.Conv2d = layer.conv2d
        self.up = layer.upsample if isinstance(layer, UpsampleConvLayer) else 1
        self.pad = layer.pad
        self.kernel = self.conv.kernel_size[0]
        self.stride = self.conv.stride[0]
        self.channels = self.conv.out_channels
        self.in_height = source.height * self.up
        self.height = (self.in_height + 2 * self.pad - self.kernel) // self.stride + 1
        in_width = source.width * self.up
        self.width = (in_width + 2 * self.pad - self.kernel) // self.stride + 1

    def rows(self, start: int, stop: int) -> torch.Tensor:
        # Rows of the padded, upsampled input this band reads, mapped back to source rows: reflection
        # at the map's top and bottom edges, integer division for nearest-neighbour upsampling.
        wanted = torch.arange(start * self.stride, (stop - 1) * self.stride + self.kernel) - self.pad
        last = self.in_height - 1
        wanted = torch.where(wanted < 0, -wanted, wanted)
        wanted = torch.where(wanted > last, 2 * last - wanted, wanted) // self.up
        low, high = int(wanted.min()), int(wanted.max()) + 1
        band = self.source.rows(low, high).index_select(2, wanted - low)
        if self.up > 1:
            band = band.repeat_interleave(self.up, dim=3)
        band = F.pad(band, (self.pad, self.pad, 0, 0), mode="reflect")
        return F.conv2d(band, self.conv.weight, self.conv.bias, stride=self.stride)


class _Normalized(_Rows):
    """InstanceNorm (with whole-map statistics) and optionally ReLU, applied to another map's bands."""

    def __init__(self, source: _Rows, norm: nn.InstanceNorm2d, *, relu: bool, strip_rows: int) -> None:
        self.source = source
        self.height, self.width, self.channels = source.height, source.width, source.channels
        mean, var = _streamed_var_mean(source, strip_rows)
        self.scale, self.shift = _affine(norm, mean, var)
        self.relu = relu

    def rows(self, start: int, stop: int) -> torch.Tensor:
        band = self.source.rows(start, stop).float() * self.scale + self.shift
        return band.relu_() if self.relu else band


def _affine(
    norm: nn.InstanceNorm2d, mean: torch.Tensor, var: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fold the statistics and the affine weights into one per-channel scale and shift."""
    scale = norm.weight.float() / torch.sqrt(var.float() + norm.eps)
    shift = norm.bias.float() - mean.float() * scale
    return scale.view(1, -1, 1, 1), shift.view(1, -1, 1, 1)


def _bands(height: int, strip_rows: int) -> Iterator[tuple[int, int]]:
    for start in range(0, height, strip_rows):
        yield start, min(start + strip_rows, height)


def _streamed_var_mean(source: _Rows, strip_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance of a whole map, merged from bands in float64 (Chan et al.)."""
    count = 0
    mean = torch.zeros(source.channels, dtype=torch.float64)
    m2 = torch.zeros(source.channels, dtype=torch.float64)
    for start, stop in _bands(source.height, strip_rows):
        band = source.rows(start, stop).float()
        n = band.shape[2] * band.shape[3]
        band_var, band_mean = torch.var_mean(band, dim=(0, 2, 3), correction=0)
        delta = band_mean.double() - mean
        total = count + n
        mean += delta * (n / total)
        m2 += band_var.double() * n + delta**2 * (count * n / total)
        count = total
    return mean, m2 / count


def _materialize(source: _Rows, strip_rows: int) -> torch.Tensor:
    """Compute a whole map band by band into one preallocated tensor."""
    whole = torch.empty(1, source.channels, source.height, source.width)
    for start, stop in _bands(source.height, strip_rows):
        whole[:, :, start:stop] = source.rows(start, stop)
    return whole


def _normalize_(tensor: torch.Tensor, norm: nn.InstanceNorm2d, *, relu: bool) -> torch.Tensor:
    """InstanceNorm a whole map in place."""
    var, mean = torch.var_mean(tensor, dim=(0, 2, 3), correction=0)
    scale, shift = _affine(norm, mean, var)
    tensor.mul_(scale).add_(shift)
    return tensor.relu_() if relu else tensor


def _rows_per_strip(width: int, channels: int, budget: int) -> int:
    return max(_MIN_ROWS, budget // max(1, width * channels * 4))


def stylize_in_strips(
    net: TransformerNet, rgb: np.ndarray, *, precision: str = "fp32", strip_bytes: int = STRIP_BYTES
) -> np.ndarray:
    """Stylize an ``[H, W, 3]`` uint8 photo on the CPU with bounded memory; same output as one pass.

    ``strip_bytes`` bounds the largest full-resolution activation band (32 channels at full width).
    """
    height, width, _ = rgb.shape
    full = _rows_per_strip(width, 32, strip_bytes)
    half = _rows_per_strip(max(1, width // 2), 64, strip_bytes)
    quarter = _rows_per_strip(max(1, width // 4), 128, strip_bytes)
    log.info("stylizing %dx%d in strips of %d rows", width, height, full)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
    with torch.inference_mode(), autocast:
        a1 = _Normalized(_Conv(_Picture(rgb), net.conv1), net.in1, relu=True, strip_rows=full)
        a2 = _Normalized(_Conv(a1, net.conv2), net.in2, relu=True, strip_rows=half)
        y = _normalize_(_materialize(_Conv(a2, net.conv3), quarter), net.in3, relu=True)
        for block in (net.res1, net.res2, net.res3, net.res4, net.res5):
            inner = _normalize_(_materialize(_Conv(_Whole(y), block.conv1), quarter), block.in1, relu=True)
            out = _normalize_(_materialize(_Conv(_Whole(inner), block.conv2), quarter), block.in2, relu=False)
            del inner
            y = out.add_(y)
        d1 = _Normalized(_Conv(_Whole(y), net.deconv1), net.in4, relu=True, strip_rows=half)
        d2 = _Normalized(_Conv(d1, net.deconv2), net.in5, relu=True, strip_rows=full)
        final = _Conv(d2, net.deconv3)
        result = np.empty((final.height, final.width, 3), dtype=np.uint8)
        for start, stop in _bands(final.height, full):
            band = final.rows(start, stop).float().clamp_(0, 255).to(torch.uint8)
            result[start:stop] = band[0].permute(1, 2, 0).numpy()
    return result
