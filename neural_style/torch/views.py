"""Strided views that let one operation gather the four phase maps of an upsampling layer.

:class:`~neural_style.torch.fast.PhaseUpConv` computes a 2x map as four phase blocks, each a row and a column
larger than the small map. Viewing the blocks, and the buffers the next layer reads, as the same
``[N, h, w, 2, 2, C]`` grid makes the interleave (and the space-to-depth gather) one strided copy
instead of one slow copy per block. The views share storage with their tensors; the copies here are
:func:`depth_to_space`, which puts a map held in phase blocks into pixels, and :func:`reflection_padded`,
which pads a photo without leaving channels_last.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def phases_grid(phases: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """View the 2x map held as four phase maps as a ``[N, height, width, 2, 2, C]`` grid.

    Element ``[n, i, j, a, b, c]`` is pixel ``(2 * i + a, 2 * j + b)`` of channel ``c``: phase block
    ``2 * a + b``, cropped at row ``a`` and column ``b`` (see ``PhaseUpConv.interleave``).
    """
    batch, channels4, _, _ = phases.shape
    channels = channels4 // 4
    n, c, r, w = phases.stride()
    return phases.as_strided(
        (batch, height, width, 2, 2, channels),
        (n, r, w, r + 2 * channels * c, w + channels * c, c),
        phases.storage_offset(),
    )


def interleaved_grid(big: torch.Tensor, border: int) -> torch.Tensor:
    """View a 2x map (inside ``border`` rows and columns of padding) as the ``[N, h, w, 2, 2, C]`` grid."""
    batch, channels, rows, cols = big.shape
    height, width = (rows - 2 * border) // 2, (cols - 2 * border) // 2
    n, c, r, w = big.stride()
    return big.as_strided(
        (batch, height, width, 2, 2, channels),
        (n, 2 * r, 2 * w, r, w, c),
        big.storage_offset() + border * (r + w),
    )


def space_to_depth_grid(grouped: torch.Tensor, border: int) -> torch.Tensor:
    """View a space-to-depth map (channel ``(2 * a + b) * C + c``, inside a border) as the grid."""
    batch, channels4, rows, cols = grouped.shape
    channels = channels4 // 4
    n, c, r, w = grouped.stride()
    return grouped.as_strided(
        (batch, rows - 2 * border, cols - 2 * border, 2, 2, channels),
        (n, r, w, 2 * channels * c, channels * c, c),
        grouped.storage_offset() + border * (r + w),
    )


def depth_to_space(blocks: torch.Tensor) -> torch.Tensor:
    """Return the 2x map ``[N, C, 2h, 2w]`` (channels_last) of a map in phase-block space-to-depth form.

    ``blocks`` is ``[N, 4 * C, h, w]``, channels_last, channel ``(2 * a + b) * C + c`` holding pixel
    ``(2 * i + a, 2 * j + b)`` of channel ``c`` at ``(i, j)``. In this order a pixel's ``2 * C`` values
    of one row parity are consecutive in both maps, so the copy moves runs of them; pixel_shuffle's
    order (``4 * c + 2 * a + b``) moves single values, several times slower.
    """
    batch, channels4, height, width = blocks.shape
    channels = channels4 // 4
    pixels = blocks.permute(0, 2, 3, 1).reshape(batch, height, width, 2, 2 * channels)  # NHWC: a view
    big = pixels.permute(0, 1, 3, 2, 4).reshape(batch, 2 * height, 2 * width, channels)
    return big.permute(0, 3, 1, 2)


def reflection_padded(x: torch.Tensor, pads: tuple[int, int, int, int], dtype: torch.dtype) -> torch.Tensor:
    """Return ``x`` reflection-padded by ``pads`` (left, right, top, bottom) as ``dtype``, channels_last.

    ``F.pad`` returns a 3-channel map (a photo) in NCHW whatever its input's layout, and oneDNN's
    convolutions then reorder it: at 1024x872 on an AVX2-only CPU the 9x9 first layer took 66.3 ms
    after the conversion and ``F.pad`` (1.5 ms), 62.9 after this one copy (0.4 ms).
    """
    left, right, top, bottom = pads
    batch, channels, height, width = x.shape
    if max(left, right) >= width or max(top, bottom) >= height:
        return F.pad(x.to(dtype), pads, mode="reflect")  # too small to reflect: F.pad's own error
    out = torch.empty(
        (batch, channels, height + top + bottom, width + left + right),
        dtype=dtype,
        device=x.device,
        memory_format=torch.channels_last,
    )
    out[:, :, top : top + height, left : left + width] = x
    rows = slice(top, top + height)
    # Columns first, then whole rows, which bring the corners along.
    for offset in range(1, left + 1):
        out[:, :, rows, left - offset] = out[:, :, rows, left + offset]
    for offset in range(1, right + 1):
        out[:, :, rows, left + width - 1 + offset] = out[:, :, rows, left + width - 1 - offset]
    for offset in range(1, top + 1):
        out[:, :, top - offset] = out[:, :, top + offset]
    for offset in range(1, bottom + 1):
        out[:, :, top + height - 1 + offset] = out[:, :, top + height - 1 - offset]
    return out
