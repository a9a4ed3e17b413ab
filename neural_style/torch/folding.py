"""Pure weight folds for the fast inference form: weights in, weights out, no module state.

Each function rewrites convolution weights so that a cheaper computation gives the same sums (as
``torch.nn.utils.fusion`` folds a batch norm into a convolution). The layers in :mod:`neural_style.torch.fast`
build their parameters with these once, at load time, or per image for the norms' affines.
"""

from __future__ import annotations

import torch

# A per-channel ``x * scale + shift`` (each ``[C]``) that a convolution applies to its input for free.
Affine = tuple[torch.Tensor, torch.Tensor]

# Row and column parity of the pixels each phase block computes, in block order.
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))

# For output row parity a (0 or 1): which 3x3 kernel rows k fold into which of the two taps t.
# Reflection-padding the upsampled map equals edge-padding the small one, so no other case exists.
_FOLD = torch.tensor(
    [
        [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]],  # even rows: tap 0 <- row 0, tap 1 <- rows 1 and 2
        [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]],  # odd rows: tap 0 <- rows 0 and 1, tap 1 <- row 2
    ]
)


def phase_kernels(weight: torch.Tensor) -> torch.Tensor:
    """Fold a ``[O, I, 3, 3]`` kernel applied after 2x nearest upsampling into ``[4 * O, I, 2, 2]``.

    Output channel block ``2 * a + b`` computes the pixels with row parity ``a`` and column parity ``b``.
    """
    fold = _FOLD.to(device=weight.device, dtype=weight.dtype)
    phases = [torch.einsum("tk,sl,oikl->oits", fold[a], fold[b], weight) for a in (0, 1) for b in (0, 1)]
    return torch.cat(phases, dim=0)


def space_to_depth_kernels(weight: torch.Tensor) -> torch.Tensor:
    """Turn a ``[O, I, k, k]`` kernel into ``[4 * O, 4 * I, u, u]`` acting on 2x2 space-to-depth input.

    Output channel ``4 * o + 2 * a + b`` gives output pixels of row parity ``a`` and column parity
    ``b`` (pixel_shuffle's order); input channel ``4 * i + 2 * p + q`` is pixel_unshuffle's.
    """
    out_channels, in_channels, k, _ = weight.shape
    u = (k + 2) // 2
    folded = weight.new_zeros(out_channels, 2, 2, in_channels, 2, 2, u, u)
    for a in (0, 1):
        for b in (0, 1):
            for p in (0, 1):
                for q in (0, 1):
                    for tap_y in range(u):
                        dy = 2 * tap_y + p - a
                        for tap_x in range(u):
                            dx = 2 * tap_x + q - b
                            if 0 <= dy < k and 0 <= dx < k:
                                folded[:, a, b, :, p, q, tap_y, tap_x] = weight[:, :, dy, dx]
    return folded.reshape(4 * out_channels, 4 * in_channels, u, u)


def phase_block_order(weight: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Reorder a space-to-depth kernel's channels along ``dim`` from pixel_(un)shuffle's order to blocks.

    Channel ``4 * i + 2 * p + q`` becomes ``(2 * p + q) * I + i``: the order of
    :class:`~neural_style.torch.fast.PhaseUpConv`'s phase blocks for inputs (``dim=1``), and of
    :func:`~neural_style.torch.views.depth_to_space` for outputs (``dim=0``).
    """
    shape = weight.shape
    blocks = weight.reshape(*shape[:dim], shape[dim] // 4, 4, *shape[dim + 1 :])
    return blocks.transpose(dim, dim + 1).reshape(shape)


def fold_input_affine(
    weight: torch.Tensor, bias: torch.Tensor, affine: Affine
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and bias that convolve ``x`` as the given ones convolve ``x * scale + shift``.

    Exact for any padding that copies pixels (reflection, edge): a padded affine map is the affine
    map of the padded one. ``scale`` and ``shift`` may be shorter than the input channels, and then
    repeat (the space-to-depth and phase layouts hold each channel several times).
    """
    scale, shift = affine
    repeats = weight.shape[1] // scale.shape[0]
    scale, shift = scale.to(weight.dtype), shift.to(weight.dtype)
    if repeats > 1:
        scale, shift = scale.repeat(repeats), shift.repeat(repeats)
    scale, shift = scale.view(1, -1, 1, 1), shift.view(1, -1, 1, 1)
    folded = (weight * scale).contiguous(memory_format=torch.channels_last)
    return folded, bias + (weight * shift).sum(dim=(1, 2, 3))
