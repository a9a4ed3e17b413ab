"""Strided views that let one operation gather the four phase maps of an upsampling layer.

:class:`~neural_style.torch.fast.PhaseUpConv` computes a 2x map as four phase blocks, each a row and a column
larger than the small map. Viewing the blocks, and the buffers the next layer reads, as the same
``[N, h, w, 2, 2, C]`` grid makes the interleave (and the space-to-depth gather) one strided copy
instead of one slow copy per block. The views share storage with their tensors; the one copy here is
:func:`depth_to_space`, which puts a map held in phase blocks into pixels.
"""

from __future__ import annotations

import torch


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
