"""The example's ``transformer_net`` module: its layer classes, with its constructor arguments.

A compatibility name for code written against PyTorch's ``fast_neural_style`` example; the network
itself lives in :mod:`neural_style.torch.model`. State dicts saved from the example's ``TransformerNet`` load
into ours unchanged (the same parameter names and shapes).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from .torch.model import ConvLayer, ResidualBlock, TransformerNet

__all__ = ["ConvLayer", "ResidualBlock", "TransformerNet", "UpsampleConvLayer"]


class UpsampleConvLayer(ConvLayer):
    """The example's layer: optional nearest-neighbour upsampling, reflection padding, a convolution.

    Takes the example's arguments ``(in_channels, out_channels, kernel_size, stride, upsample=None)``;
    :class:`neural_style.torch.model.UpsampleConvLayer` is ours (always upsampling, stride 1).
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int, upsample: int | None = None
    ) -> None:
        """Build the layer; ``upsample=None`` means no upsampling, as in the example."""
        super().__init__(in_channels, out_channels, kernel_size, stride)
        self.upsample = upsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample (if asked), pad by reflection and convolve."""
        if self.upsample:
            x = F.interpolate(x, mode="nearest", scale_factor=self.upsample)
        return super().forward(x)
