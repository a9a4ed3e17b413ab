"""oneDNN's int8 convolutions where they give exact sums: quantized maps, and photos' bytes.

On CPUs with VNNI (AVX-512 VNNI, AVX-VNNI, AMX) oneDNN multiplies uint8 values by int8 kernels into
int32 sums, exactly, several times faster than its float32 kernels. Without VNNI (AVX2-only CPUs) it adds
pairs of neighbouring products in 16 bits and saturates; fed *widened* values (each followed by a zero
byte, as 16-bit integers are in memory) and a kernel with a zero weight after each, no two products
meet in 16 bits and the sums are exact again, for twice the multiply-adds. :func:`int8_convolutions_exact`
checks the worst case once per process, each way, and :func:`exact_int8_form` says which to use.

Two users: the style-picture transform, whose maps are int8 codes
(:mod:`neural_style.torch.quantized`), and the first layer of the float networks, whose input is a
photo's bytes (:class:`PhotoConv`, where VNNI's form alone pays).
"""

from __future__ import annotations

import functools
import sys
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "Int8Form",
    "Int8Sums",
    "PhotoConv",
    "column_windows",
    "exact_int8_form",
    "int8_convolutions_exact",
    "widen",
]

# The largest int8 kernel value used: symmetric, so that a kernel and its negation both fit.
KERNEL_LIMIT = 127
# Where a value's byte lies in its widened (16-bit) form: the low byte comes first on little-endian CPUs.
VALUE_BYTE = 0 if sys.byteorder == "little" else 1

# "int8": oneDNN's int8 kernels as they are (VNNI); "widened": fed widened values (AVX2).
Int8Form = Literal["int8", "widened"]


@functools.cache
def int8_convolutions_exact(*, widened: bool = False) -> bool:
    """Whether oneDNN's int8 convolutions give exact sums on this CPU, of ``widened`` values if asked.

    Without VNNI instructions (AVX2-only CPUs) they add pairs of products in 16 bits and saturate, which
    puts sums of large codes and kernels far off; this checks the worst case and random codes.
    """
    generator = torch.Generator().manual_seed(0)
    codes = torch.full((1, 8, 12, 12), 255, dtype=torch.uint8)
    codes[0, :, ::3] = torch.randint(0, 256, (8, 4, 12), dtype=torch.uint8, generator=generator)
    kernel = torch.full((4, 8, 3, 3), KERNEL_LIMIT, dtype=torch.int8)
    kernel[1] = -KERNEL_LIMIT
    kernel[2:] = torch.randint(
        -KERNEL_LIMIT, KERNEL_LIMIT + 1, (2, 8, 3, 3), dtype=torch.int8, generator=generator
    )
    codes = codes.contiguous(memory_format=torch.channels_last)
    try:
        sums = Int8Sums(kernel.numpy(), zero_point=3, stride=1, widened=widened)(codes)
    except (RuntimeError, AttributeError, TypeError):  # no such oneDNN int8 kernels in this build
        return False
    exact = F.conv2d(codes.double() - 3, kernel.double())
    return bool(torch.equal(sums.double(), exact))


def exact_int8_form() -> Int8Form | None:
    """Return the form in which oneDNN's int8 convolutions are exact here (VNNI's first), or None."""
    if int8_convolutions_exact():
        return "int8"
    if int8_convolutions_exact(widened=True):
        return "widened"
    return None


def widen(values: torch.Tensor) -> torch.Tensor:
    """Return ``[N, C, H, W]`` uint8 values as ``[N, 2C, H, W]``: each value's channel, then a zero one.

    These are the bytes of the values as 16-bit integers (one conversion pass), channels_last.
    """
    pixels = values.permute(0, 2, 3, 1).to(torch.int16).contiguous()  # NHWC
    return pixels.view(torch.uint8).permute(0, 3, 1, 2)


class Int8Sums:
    """A convolution of uint8 values by an int8 kernel, as float32: ``scale[o] * sum((x - zero_point) * k)``.

    The integer sums are exact (where :func:`int8_convolutions_exact`, with the same ``widened``); each
    output channel's ``scale`` (default 1) multiplies its sum once, in float32, and its ``bias`` (default
    none) is added. With ``codes``, that value is rounded to the nearest integer (ties to even) and cut to
    0..255 in the same call, as uint8: a requantization to 8-bit codes without a pass over float32 sums.
    ``widened`` feeds the values widened (:func:`widen`) to a kernel with a zero weight after each, the
    form that is exact without VNNI. No padding: pad the input first.
    """

    def __init__(
        self,
        kernel: np.ndarray,
        *,
        zero_point: int = 0,
        stride: int = 1,
        scale: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
        codes: bool = False,
        widened: bool = False,
    ) -> None:
        channels = kernel.shape[0]
        self.bias = None if bias is None else bias.float().contiguous()
        self.scale = torch.ones(channels) if scale is None else scale.float().contiguous()
        self.zeros = torch.zeros(channels, dtype=torch.int64)
        self.zero_point = zero_point
        self.output_dtype = None if codes else torch.float32  # None: uint8, as the output's quantization
        self.stride = [stride, stride]
        self.widened = widened
        if widened:  # input channel 2c (on little-endian CPUs) is value channel c; the other byte is zero
            spread = np.zeros((channels, 2 * kernel.shape[1], *kernel.shape[2:]), dtype=np.int8)
            spread[:, VALUE_BYTE::2] = kernel
            kernel = spread
        self.packed = torch.ops.onednn.qconv_prepack(
            torch.from_numpy(np.array(kernel)), self.scale, 1.0, zero_point,
            self.stride, [0, 0], [1, 1], 1, None,
        )  # fmt: skip

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        """Convolve ``[N, C, H, W]`` uint8 values (channels_last is fastest)."""
        if self.widened:
            values = widen(values)
        sums: torch.Tensor = torch.ops.onednn.qconv2d_pointwise(
            values, 1.0, self.zero_point, self.packed, self.scale, self.zeros, self.bias,
            self.stride, [0, 0], [1, 1], 1, 1.0, 0, self.output_dtype, "none", [], "",
        )  # fmt: skip
        return sums


class PhotoConv:
    """A float32 convolution (stride 1, no padding) of a photo's bytes, in oneDNN's int8 kernels.

    A photo's values are integers 0..255, already uint8, so only the kernel needs int8 form: it is the
    sum of ``TERMS`` int8 kernels, the first at each output channel's ``max |w| / 127``, the next the
    first's rounding error at 1/254 of that scale. What is left is at most 1.6e-5 of the channel's
    largest weight (the float32 layer's own rounding: about 1e-6 of its sums). On the 26-style network
    that puts 0.1-0.5% of a picture's values one level from the float32 layer's (the truncation to 8
    bits at the end; float32 runners differ from each other on 0.01-0.03%), none two, and runs its first
    layer (9x9, 3 -> 32 channels, 40% of the network's multiply-adds) in 3-4 ms at 512x436 against 11
    in float32. A third term would leave 6e-8 and as few differences as float32's, for 3-4 ms more
    (another convolution, another pass over the map): all but a quarter of the gain.

    The int8 kernels multiply-add input channels in groups of four, so 3 channels cost as 4. Where it
    wastes less (a 9x9 kernel: 27 channels cost 28, against 81 taps of 4), the photo goes in as its
    column windows (:func:`column_windows`) and the kernel as one column: the same integer sums, so the
    same output, for a quarter fewer multiply-adds.
    """

    TERMS = 2

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        out_channels, in_channels, _, width = weight.shape
        self.window = width if _padded(width * in_channels) < width * _padded(in_channels) else 1
        left = weight.detach().double().cpu()
        scale = left.abs().amax(dim=(1, 2, 3)) / KERNEL_LIMIT
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        self.terms: list[Int8Sums] = []
        for term in range(self.TERMS):
            kernel = torch.round(left / scale.view(-1, 1, 1, 1)).clamp_(-KERNEL_LIMIT, KERNEL_LIMIT)
            left = left - kernel * scale.view(-1, 1, 1, 1)
            if self.window > 1:  # input channel dx * C + c of the windows, at row dy: kernel [o, c, dy, dx]
                kernel = kernel.permute(0, 3, 1, 2).reshape(out_channels, width * in_channels, -1, 1)
            term_bias = bias.detach().cpu() if term == 0 else None
            self.terms.append(Int8Sums(kernel.to(torch.int8).numpy(), scale=scale, bias=term_bias))
            scale = scale / (2 * KERNEL_LIMIT)

    def __call__(self, photo: torch.Tensor) -> torch.Tensor:
        """Convolve ``[N, 3, H, W]`` uint8 values (padded already; channels_last is fastest)."""
        if self.window > 1:
            photo = column_windows(photo, self.window)
        first, *rest = self.terms
        sums = first(photo)
        for term in rest:
            sums.add_(term(photo))
        return sums


def column_windows(values: torch.Tensor, width: int) -> torch.Tensor:
    """Return the ``width``-pixel windows of each row: ``[N, width * C, H, W - width + 1]``.

    Channel ``dx * C + c`` at ``(y, x)`` is ``values[:, c, y, x + dx]``.

    In channels_last memory a pixel's ``width`` neighbours to the right, all channels, are consecutive
    bytes, so each output pixel is one contiguous run of its input row (a fast copy).
    """
    batch, channels, height, columns = values.shape
    pixels = values.permute(0, 2, 3, 1).contiguous()  # NHWC; no copy for a channels_last tensor
    runs = pixels.as_strided(
        (batch, height, columns - width + 1, width * channels),
        (pixels.stride(0), pixels.stride(1), channels, 1),
    )
    return runs.contiguous().permute(0, 3, 1, 2)


def _padded(channels: int) -> int:
    """Return the input channels oneDNN's int8 kernels compute for ``channels``: whole groups of four."""
    return -(-channels // 4) * 4
