"""The example's ``neural_style`` module: ``stylize(args)``, ``train(args)``, ``stylize_onnx``, ``main()``.

A thin compatibility layer so code written for PyTorch's ``fast_neural_style`` example, and the spec's
option B (``from neural_style.neural_style import stylize`` then ``stylize(args)``), runs unchanged over
our engine. ``args`` is any object with the example's attributes (an argparse namespace, or a class
with class attributes as the spec shows); attributes the example treats as optional may be missing.
Ours are honoured too when present: ``style``, ``style_image``, ``strength``, ``preserve_color``.

New code should call :func:`neural_style.loading.load_stylizer` or :func:`neural_style.loading.stylize`,
which take typed arguments. Imports are inside the functions so that running this file as a script
(``python neural_style/neural_style.py``, which the spec calls incorrect) can print its hint first.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:
    print(
        "neural_style: run it as a module from the project folder: python -m neural_style eval|train ...",
        file=sys.stderr,
    )
    raise SystemExit(2)

import torch


def _device(args: Any) -> str:
    """Return the device the example's flags ask for: ``--cuda 1``, ``--accel``, ``--mps`` or the CPU."""
    from .hardware import pick_device

    cuda, accel, mps = (getattr(args, flag, False) for flag in ("cuda", "accel", "mps"))
    return pick_device(cuda=bool(cuda), accel=bool(accel), mps=bool(mps))


def check_paths(args: Any) -> None:
    """Create ``args.save_model_dir`` and ``args.checkpoint_model_dir`` (if set), as the example does."""
    for folder in (getattr(args, "save_model_dir", None), getattr(args, "checkpoint_model_dir", None)):
        if folder is not None:
            Path(folder).mkdir(parents=True, exist_ok=True)


def stylize(args: Any) -> Path:
    """Stylize ``args.content_image`` with ``args.model`` (or a style picture) into ``args.output_image``.

    The example's attributes: ``content_image``, ``output_image``, ``model``, ``cuda``, ``content_scale``,
    ``export_onnx`` (and ``accel``/``mps``). The output is written atomically; a folder as
    ``content_image`` stylizes every photo in it into the folder ``output_image``. This is what
    ``python -m neural_style eval`` runs (:func:`neural_style.batch.stylize_path`).
    """
    from .batch import BatchError, stylize_path

    style_image = getattr(args, "style_image", None)
    result = stylize_path(
        args.content_image,
        args.output_image,
        model=None if style_image is not None else args.model,
        content_scale=getattr(args, "content_scale", None),
        export_onnx=getattr(args, "export_onnx", None),
        style_image=style_image,
        style=getattr(args, "style", None),
        strength=getattr(args, "strength", 1.0),
        preserve_color=getattr(args, "preserve_color", False),
        device=_device(args),
        precision=getattr(args, "precision", "auto"),
    )
    if result.failed:
        msg = f"{len(result.failed)} photo(s) could not be stylized: " + "; ".join(result.failed.values())
        raise BatchError(msg)
    return result.written[0] if len(result.written) == 1 else Path(args.output_image)


def stylize_onnx(content_image: torch.Tensor, args: Any) -> torch.Tensor:
    """Run the ONNX model ``args.model`` on a ``[1, 3, H, W]`` 0..255 tensor; return the output tensor."""
    from .errors import UsageError
    from .onnx.runner import OnnxStylizer

    if getattr(args, "export_onnx", None):
        msg = "--export_onnx needs a .pth/.model checkpoint as --model, not an .onnx file"
        raise UsageError(msg)
    runner = OnnxStylizer(args.model, style=getattr(args, "style", None), device=_device(args))
    rgb = content_image[0].detach().to("cpu").clamp(0, 255).permute(1, 2, 0).numpy().astype("uint8")
    out = runner.stylize_array(rgb)
    return torch.from_numpy(out.transpose(2, 0, 1).astype("float32")).unsqueeze(0)


def train(args: Any) -> Path:
    """Train as the example's ``train(args)`` does; VGG16 weights from ``args.vgg_weights`` (no download)."""
    from .train import train as train_model
    from .vgg import MISSING_WEIGHTS_HINT

    weights = getattr(args, "vgg_weights", None)
    if weights is None:
        raise FileNotFoundError(MISSING_WEIGHTS_HINT)
    check_paths(args)
    return train_model(
        args.dataset,
        args.style_image,
        args.save_model_dir,
        vgg_weights=weights,
        epochs=getattr(args, "epochs", 2),
        batch_size=getattr(args, "batch_size", 4),
        image_size=getattr(args, "image_size", 256),
        style_size=getattr(args, "style_size", None),
        device=_device(args),
        seed=getattr(args, "seed", 42),
        content_weight=getattr(args, "content_weight", 1e5),
        style_weight=getattr(args, "style_weight", 1e10),
        lr=getattr(args, "lr", 1e-3),
        log_interval=getattr(args, "log_interval", 500),
        checkpoint_model_dir=getattr(args, "checkpoint_model_dir", None),
        checkpoint_interval=getattr(args, "checkpoint_interval", 2000),
        max_steps=getattr(args, "max_steps", None),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the example's command line (``eval``/``train``, with its ``--accel`` and ``--mps`` flags).

    The same command line as ``python -m neural_style`` (:func:`neural_style.cli.main`), which is what
    runs: one parser for both.
    """
    from .cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
