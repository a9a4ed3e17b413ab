"""Bounded-memory TransformerNet inference for very large photos: exact, strip by strip, no seams.

Cutting a photo into tiles and stylizing each on its own is wrong for this network: every InstanceNorm
layer normalises with the mean and variance of the *whole* feature map, so tiles would each get their
own colours and contrast (visible seams), and blending overlaps only hides that. Here the full-resolution
layers are instead computed in horizontal strips, each with the few extra rows (the halo) its
convolutions need, and each InstanceNorm gets its statistics from a first streaming pass over the whole
map. Quarter-resolution layers (the residual blocks) are small enough to keep whole. Every pixel is
computed from exactly the values the one-pass network would use, so the output equals the plain forward
pass up to float rounding; peak memory is a few quarter-resolution maps plus one strip.

The layers are those of :class:`~neural_style.torch.fast.FastTransformerNet` (channels_last, folded
upsampling, space-to-depth last layer). Costs about a third more arithmetic than one pass (the early and
late layers run again for their statistics), so the engine uses this only above a size threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import torch
from torch.nn import functional as F

from .fast import FastConv, FastNorm, FastTransformerNet, PhaseUpConv, SpaceToDepthConv, fp32_if
from .statistics import Moments
from .views import reflection_padded

log = logging.getLogger(__name__)

# Memory a strip's widest activation may take; strips are at least _MIN_ROWS rows tall (and an even
# number, which the space-to-depth last layer needs).
STRIP_BYTES = 48 << 20
_MIN_ROWS = 16
# Half-resolution maps of at most this many channels are kept whole (see stylize_in_strips).
KEEP_HALF_WHOLE_CHANNELS = 32
_NHWC = torch.channels_last


class _Rows:
    """A feature map that can produce any band of its rows, ``[1, C, stop - start, W]`` channels_last."""

    height: int
    width: int
    channels: int

    def rows(self, start: int, stop: int) -> torch.Tensor:
        raise NotImplementedError

    def gather(self, wanted: torch.Tensor) -> torch.Tensor:
        """Rows at the given (possibly repeated) indices, fetched as one band and picked out.

        The indices are runs of consecutive rows (a band, plus reflected rows at the map's edges): one
        run is the band itself, several are joined by one copy.
        """
        low, high = int(wanted.min()), int(wanted.max()) + 1
        band = self.rows(low, high)
        indices = wanted.tolist()
        breaks = [i for i in range(1, len(indices)) if indices[i] != indices[i - 1] + 1]
        if not breaks:
            return band[:, :, indices[0] - low : indices[-1] + 1 - low]
        starts, stops = [0, *breaks], [*breaks, len(indices)]
        runs = [
            band[:, :, indices[a] - low : indices[b - 1] + 1 - low]
            for a, b in zip(starts, stops, strict=True)
        ]
        return torch.cat(runs, dim=2).contiguous(memory_format=_NHWC)


class _Picture(_Rows):
    """The input photo's bytes, a band at a time (the first layer takes them as they are: see FastConv)."""

    def __init__(self, rgb: np.ndarray) -> None:
        self.rgb = rgb
        self.height, self.width, self.channels = rgb.shape

    def rows(self, start: int, stop: int) -> torch.Tensor:
        # A copy: torch.from_numpy of a read-only photo (as numpy.asarray gives for a PIL image) would
        # share memory torch may not write, and warns.
        band = torch.from_numpy(self.rgb[start:stop].copy())
        return band.unsqueeze(0).permute(0, 3, 1, 2)


class _Whole(_Rows):
    """A feature map held in memory."""

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor
        _, self.channels, self.height, self.width = tensor.shape

    def rows(self, start: int, stop: int) -> torch.Tensor:
        return self.tensor[:, :, start:stop]


def _reflect(wanted: torch.Tensor, height: int) -> torch.Tensor:
    last = height - 1
    wanted = torch.where(wanted < 0, -wanted, wanted)
    return torch.where(wanted > last, 2 * last - wanted, wanted)


class _Conv(_Rows):
    """A reflection-padded (strided) convolution of another map, band by band."""

    def __init__(self, source: _Rows, layer: FastConv) -> None:
        self.source, self.layer = source, layer
        self.kernel = layer.weight.shape[-1]
        self.stride = layer.stride[0]
        self.channels = layer.weight.shape[0]
        self.height = (source.height + 2 * layer.pad - self.kernel) // self.stride + 1
        self.width = (source.width + 2 * layer.pad - self.kernel) // self.stride + 1

    def rows(self, start: int, stop: int) -> torch.Tensor:
        pad = self.layer.pad
        wanted = torch.arange(start * self.stride, (stop - 1) * self.stride + self.kernel) - pad
        return convolve_padded_rows(self.layer, self.source.gather(_reflect(wanted, self.source.height)))


def convolve_padded_rows(layer: FastConv, band: torch.Tensor) -> torch.Tensor:
    """Convolve a band whose rows are already padded; its columns are reflection-padded here."""
    photo = layer.int8_layer_for(band)
    pads = (layer.pad, layer.pad, 0, 0)
    if photo is not None:
        return photo(reflection_padded(band, pads, torch.uint8))
    with fp32_if(layer.full_precision, band):
        if layer.weight.shape[-1] == 3:
            band = band.to(layer.weight.dtype)
            return _reflect_columns_by_correction(band, layer.weight, layer.bias, layer.stride[0])
        padded = reflection_padded(band, pads, layer.weight.dtype)
        return F.conv2d(padded, layer.weight, layer.bias, stride=layer.stride)


def _reflect_columns_by_correction(
    band: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, stride: int
) -> torch.Tensor:
    """Convolve (3x3) a row-padded band with reflected columns, without copying the padded band.

    As :meth:`FastConv._reflect_by_correction`, for columns only: zero padding, then the outermost output
    columns get what the reflected columns would have added (at stride 2 an even width never reaches
    its right-hand padding).
    """
    width = band.shape[3]
    out = F.conv2d(band, weight, bias, stride=stride, padding=(0, 1))
    out[:, :, :, :1] += F.conv2d(band[:, :, :, 1:2], weight[:, :, :, :1], stride=(stride, 1))
    if stride * (out.shape[3] - 1) + 1 == width:
        right = band[:, :, :, width - 2 : width - 1]
        out[:, :, :, -1:] += F.conv2d(right, weight[:, :, :, 2:], stride=(stride, 1))
    return out


class _UpConv(_Rows):
    """2x nearest upsampling and a 3x3 convolution, as the folded phase convolution, band by band."""

    def __init__(self, source: _Rows, layer: PhaseUpConv) -> None:
        self.source, self.layer = source, layer
        self.channels = layer.out_channels
        self.height, self.width = 2 * source.height, 2 * source.width

    def rows(self, start: int, stop: int) -> torch.Tensor:
        first, last = start // 2, (stop - 1) // 2 + 1  # small-map rows whose pixels cover the band
        wanted = torch.arange(first - 1, last + 1).clamp_(0, self.source.height - 1)  # edge padding
        band = F.pad(self.source.gather(wanted).to(self.layer.weight.dtype), (1, 1, 0, 0), mode="replicate")
        phases = F.conv2d(band, self.layer.weight, self.layer.bias)
        out = self.layer.interleave(phases, last - first, self.source.width)
        return out[:, :, start - 2 * first : stop - 2 * first]


class _SpaceToDepth(_Rows):
    """The last layer (a 9x9 convolution to RGB) in its space-to-depth form, band by band."""

    def __init__(self, source: _Rows, layer: SpaceToDepthConv) -> None:
        self.source, self.layer = source, layer
        self.channels = layer.weight.shape[0] // 4
        self.height, self.width = source.height, source.width

    def rows(self, start: int, stop: int) -> torch.Tensor:
        # An odd band gets one filler row (its output is cut off): space-to-depth needs even heights.
        pad = self.layer.pad
        even_stop = stop + (stop - start) % 2
        wanted = _reflect(torch.arange(start - pad, even_stop + pad), self.source.height)
        band = self.source.gather(wanted)
        return space_to_depth_padded_rows(self.layer, band)[:, :, : stop - start]


def space_to_depth_padded_rows(layer: SpaceToDepthConv, band: torch.Tensor) -> torch.Tensor:
    """Convolve a band whose rows are already padded (an even number); columns are padded here."""
    width = band.shape[3]
    padded = F.pad(band.to(layer.weight.dtype), (layer.pad, layer.pad + width % 2, 0, 0), mode="reflect")
    return layer.convolve_padded(padded)[:, :, :, :width]


class _Normalized(_Rows):
    """InstanceNorm (with whole-map statistics) and optionally ReLU, applied to another map's bands."""

    def __init__(self, source: _Rows, norm: FastNorm, strip_rows: int) -> None:
        self.source, self.norm = source, norm
        self.height, self.width, self.channels = source.height, source.width, source.channels
        # The same chunked statistics as the one-pass network's (see statistics.py), band by band.
        moments = Moments(self.channels)
        for start, stop in _bands(source.height, strip_rows):
            moments.add_map(source.rows(start, stop))
        self.scale, self.shift = norm.affine(*moments.mean_var())

    def rows(self, start: int, stop: int) -> torch.Tensor:
        band = self.source.rows(start, stop).float().mul_(self.scale).add_(self.shift)
        return band.relu_() if self.norm.relu else band


def _bands(height: int, strip_rows: int) -> Iterator[tuple[int, int]]:
    for start in range(0, height, strip_rows):
        yield start, min(start + strip_rows, height)


def _materialize(source: _Rows, strip_rows: int) -> torch.Tensor:
    """Compute a whole map band by band into one preallocated channels_last tensor."""
    whole = torch.empty(1, source.channels, source.height, source.width).contiguous(memory_format=_NHWC)
    for start, stop in _bands(source.height, strip_rows):
        whole[:, :, start:stop] = source.rows(start, stop)
    return whole


def _rows_per_strip(width: int, channels: int, budget: int) -> int:
    rows = max(_MIN_ROWS, budget // max(1, width * channels * 4))
    return rows + rows % 2


def stylize_in_strips(
    net: FastTransformerNet, rgb: np.ndarray, *, strip_bytes: int = STRIP_BYTES
) -> np.ndarray:
    """Stylize an ``[H, W, 3]`` uint8 photo on the CPU with bounded memory; same output as one pass.

    ``strip_bytes`` bounds the largest full-resolution activation band (all channels at full width).
    """
    height, width, _ = rgb.shape
    widths = [layer.weight.shape[0] for layer in (net.conv1, net.conv2, net.conv3)]
    full = _rows_per_strip(width, max(widths[0], net.deconv2.out_channels), strip_bytes)
    half = _rows_per_strip(max(1, width // 2), max(widths[1], net.deconv1.out_channels), strip_bytes)
    quarter = _rows_per_strip(max(1, width // 4), widths[2], strip_bytes)
    log.info("stylizing %dx%d in strips of %d rows", width, height, full)
    with torch.inference_mode():
        a1 = _Normalized(_Conv(_Picture(rgb), net.conv1), net.in1, full)
        if widths[1] <= KEEP_HALF_WHOLE_CHANNELS:
            # A narrow half-resolution map (the 26-style network's 32 channels: 32 bytes per photo pixel)
            # is kept whole rather than computed twice, which would run the costly first layer a third time.
            a2 = net.in2.normalize_(_materialize(_Conv(a1, net.conv2), half))
            y = net.in3.normalize_(net.conv3(a2))
            del a2
        else:
            # In place: a second quarter-resolution map here would be the peak of the whole run.
            y = net.in3.normalize_(
                _materialize(_Conv(_Normalized(_Conv(a1, net.conv2), net.in2, half), net.conv3), quarter)
            )
        # Quarter-resolution maps are whole: their convolutions run on the whole map, as in one pass.
        for block in net.blocks:
            inner = block.in1.normalize_(block.conv1(y))
            out = block.in2.normalize_(block.conv2(inner))
            del inner
            y = out.add_(y)
        d1 = _Normalized(_UpConv(_Whole(y), net.deconv1), net.in4, half)
        d2 = _Normalized(_UpConv(d1, net.deconv2), net.in5, full)
        final: _Rows = _SpaceToDepth(d2, net.deconv3)
        if net.out_norm is not None:
            # The output's own norm needs the whole map's statistics: three channels, kept whole.
            final = _Whole(net.finish(_materialize(final, full)))
        result = np.empty((final.height, final.width, 3), dtype=np.uint8)
        for start, stop in _bands(final.height, full):
            band = final.rows(start, stop).float().clamp_(0, 255).to(torch.uint8)
            result[start:stop] = band[0].permute(1, 2, 0).numpy()
    return result
