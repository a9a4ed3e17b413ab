"""The engine's public face: load a style model once and stylize many pictures with it.

``load_model`` picks the runner by file suffix (see :mod:`neural_style.loading`): ``.pth``/``.model``
TransformerNet checkpoints run in PyTorch (:mod:`neural_style.torch_stylizer`), ``.onnx`` graphs in ONNX
Runtime (:mod:`neural_style.onnx`). Every runner is a :class:`Stylizer`; pictures in and out are PIL RGB
images. Importing this module imports torch; code that may never need it imports
:mod:`neural_style.loading` instead, which offers the same ``load_model`` and ``stylize``.
"""

from __future__ import annotations

from .device import resolve_device
from .loading import CHECKPOINT_SUFFIXES, load_model, multistyle_model_path, stylize
from .precision import PRECISIONS, Precision
from .stylizer import Stylizer
from .torch_stylizer import STREAM_ABOVE_PIXELS, TorchStylizer, to_uint8

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "PRECISIONS",
    "STREAM_ABOVE_PIXELS",
    "Precision",
    "Stylizer",
    "TorchStylizer",
    "load_model",
    "multistyle_model_path",
    "resolve_device",
    "stylize",
    "to_uint8",
]
