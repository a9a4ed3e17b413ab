"""Per-channel mean and variance of channels_last feature maps, accurate at any map size.

InstanceNorm needs each channel's mean and biased variance over the whole map. batch_norm's
channels_last statistics kernel is the fastest way to get them on the CPU, but it accumulates in
float32 one pixel after another, so its error grows with the map: at 1580x1580 the variance was off
by 7e-4, two levels in the output picture. Here the map is cut into row chunks of at most
``CHUNK_PIXELS`` pixels, the kernel takes each chunk's pixel columns (whole rows side by side, a view:
each column sums a chunk's rows only), and the columns and chunks are combined in float64 by Chan et
al.'s pairwise update. The cost is below that of one call on the whole map; the error is about that of
summing a hundred-odd values, at any size.
"""

from __future__ import annotations

import torch

# Pixels per chunk: the float32 kernel's error at this size is well under a hundredth of an output level.
CHUNK_PIXELS = 1 << 16
# Columns below which the statistics kernel is slow (see pixels_per_group).
GROUP_COLUMNS = 16


class Moments:
    """Running per-channel count, mean and sum of squared deviations, in float64; chunks add in any order."""

    def __init__(self, channels: int, device: torch.device | str = "cpu") -> None:
        self.count = 0
        self.mean = torch.zeros(channels, dtype=torch.float64, device=device)
        self.m2 = torch.zeros(channels, dtype=torch.float64, device=device)

    def add(self, count: int, mean: torch.Tensor, var: torch.Tensor) -> None:
        """Take in a chunk of ``count`` pixels with per-channel ``mean`` and biased ``var``."""
        if count == 0:
            return
        mean, var = mean.double(), var.double()
        total = self.count + count
        delta = mean - self.mean
        self.m2 += var * count + delta * delta * (self.count * count / total)
        self.mean += delta * (count / total)
        self.count = total

    def add_groups(self, count: int, mean: torch.Tensor, var: torch.Tensor) -> None:
        """Take in ``G`` groups of ``count`` pixels each, given per-group ``mean`` and ``var`` ``[G, C]``."""
        mean, var = mean.double(), var.double()
        groups = mean.shape[0]
        overall = mean.mean(dim=0)
        spread = ((mean - overall) ** 2).mean(dim=0)
        self.add(groups * count, overall, var.mean(dim=0) + spread)

    def add_map(self, x: torch.Tensor) -> None:
        """Take in every pixel of one image's map ``[1, C, H, W]`` (channels_last, any float dtype)."""
        _, channels, height, width = x.shape
        group = pixels_per_group(height, width, channels)
        rows = max(1, CHUNK_PIXELS // max(1, width))
        for start in range(0, height, rows):
            chunk = x[:, :, start : start + rows].float()
            count = chunk.shape[2] * width
            if group == 1:
                self.add(count, *torch.batch_norm_update_stats(chunk, None, None, 1.0))
                continue
            # ``group`` neighbouring pixels side by side as one row of ``group * C`` columns (a view of
            # the NHWC memory), whose statistics the kernel takes faster (see pixels_per_group).
            flat = chunk.permute(0, 2, 3, 1).reshape(-1, group * channels)
            mean, var = torch.batch_norm_update_stats(flat, None, None, 1.0)
            self.add_groups(count // group, mean.view(group, channels), var.view(group, channels))

    def remove(self, values: torch.Tensor) -> None:
        """Take out pixels counted before: ``values`` is ``[C, K]``, K pixels of each channel."""
        count = values.shape[-1]
        if count == 0:
            return
        values = values.double()
        mean, var = values.mean(dim=-1), values.var(dim=-1, unbiased=False)
        total = self.count - count
        new_mean = (self.mean * self.count - mean * count) / total
        delta = mean - new_mean
        self.m2 -= var * count + delta * delta * (total * count / self.count)
        self.mean, self.count = new_mean, total

    def mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the float32 mean and biased variance ``[C]`` of everything taken in."""
        return self.mean.float(), (self.m2 / max(1, self.count)).clamp(min=0).float()


def pixels_per_group(height: int, width: int, channels: int) -> int:
    """How many neighbouring pixels :meth:`Moments.add_map` takes as one row of the statistics kernel.

    A map of more than one chunk goes in as whole image rows (``width`` pixels): batch_norm's
    statistics kernel runs many short columns faster than a few long ones (1.8 against 2.8 ms for
    512x436 pixels of 32 channels), and each column sums fewer values, so the statistics come out about
    fifty times closer to float64's. A map of one chunk is one call as it stands, unless it has fewer
    than 16 channels (the 26-style network's 3-, 4- and 8-channel maps), which the kernel runs up to 40x
    slower per byte: then enough pixels for 16 columns. The group divides the width, so that every
    chunk of whole rows splits into whole groups.
    """
    if height * width > CHUNK_PIXELS:
        return width
    if channels >= GROUP_COLUMNS:
        return 1
    wanted = -(-GROUP_COLUMNS // channels)
    return next((size for size in range(wanted, width + 1) if width % size == 0), 1)


def image_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance ``[C]`` of one image's map ``[1, C, H, W]`` (channels_last)."""
    _, channels, height, width = x.shape
    if pixels_per_group(height, width, channels) == 1:
        # For one image, instance statistics are the batch's; one chunk needs no combination.
        mean, var = torch.batch_norm_update_stats(x.float(), None, None, 1.0)
        return mean, var
    moments = Moments(channels, x.device)
    moments.add_map(x)
    return moments.mean_var()


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image, per-channel mean and biased variance ``[N, C]`` of a channels_last ``[N, C, H, W]`` map."""
    stats = [image_stats(image[None]) for image in x.unbind()]
    return torch.stack([mean for mean, _ in stats]), torch.stack([var for _, var in stats])


def space_to_depth_stats(blocks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance ``[C]`` of one image's 2x map in phase-block space-to-depth form.

    ``blocks`` is ``[1, 4 * C, h, w]``, channel ``c`` of the map in block channels ``c``, ``C + c``,
    ``2 * C + c`` and ``3 * C + c`` (see :func:`~neural_style.torch.views.depth_to_space`).
    """
    mean, var = image_stats(blocks)
    moments = Moments(mean.shape[0] // 4, blocks.device)
    moments.add_groups(blocks.shape[2] * blocks.shape[3], mean.view(4, -1), var.view(4, -1))
    return moments.mean_var()


def phase_stats(phases: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance ``[C]`` of one image's 2x map held as four phase maps.

    Each phase block holds one row and one column that the map does not use (see
    :meth:`~neural_style.torch.fast.PhaseUpConv.interleave`): take the whole blocks' statistics (fast,
    contiguous), then take those pixels out, all blocks at once.
    """
    _, channels4, _, _ = phases.shape
    channels = channels4 // 4
    # All four blocks at once: a slice of an NHWC map's channels is not contiguous, and batch_norm's
    # statistics kernel is many times slower on such a view.
    whole = Moments(channels4, phases.device)
    whole.add_map(phases)
    blocks = phases[0].view(4, channels, height + 1, width + 1)
    # Block 2 * a + b leaves out row ``height`` where a == 0 (blocks 0, 1), else row 0, and column
    # ``width`` where b == 0 (blocks 0, 2), else column 0; each column without the row's pixel.
    unused_rows = torch.cat([blocks[:2, :, height], blocks[2:, :, 0]])
    unused_columns = torch.stack(
        [
            blocks[0, :, :height, width],
            blocks[1, :, :height, 0],
            blocks[2, :, 1:, width],
            blocks[3, :, 1:, 0],
        ]
    )
    whole.remove(torch.cat([unused_rows, unused_columns], dim=2).view(channels4, -1))
    moments = Moments(channels, phases.device)
    moments.add_groups(whole.count, whole.mean.view(4, channels), (whole.m2 / whole.count).view(4, channels))
    return moments.mean_var()
