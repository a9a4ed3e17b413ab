"""ONNX export of TransformerNet: the example's ``--export_onnx``, with dynamic height and width.

Needs torch (imported when a network is exported, not at import time) and writes atomically.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from csci_utils.io import atomic_write
from neural_style.errors import UsageError

if TYPE_CHECKING:
    import torch

    from neural_style.torch.model import TransformerNet

__all__ = ["OPSET", "export_onnx"]

log = logging.getLogger(__name__)

OPSET = 18
# The exporter logs one line per torchvision op it cannot find; torchvision is deliberately absent.
_EXPORTER_LOGGERS = ("torch.onnx._internal.exporter._registration", "torch.onnx")


def export_onnx(net: TransformerNet, path: str | os.PathLike[str], *, example_side: int = 64) -> Path:
    """Write ``net`` as a self-contained ONNX graph with dynamic height and width, atomically.

    Uses the torch.export-based exporter (``dynamo=True``, the default since PyTorch 2.9; the TorchScript
    one is deprecated). Input ``input`` ``[1, 3, height, width]`` in 0..255, output ``output``.
    """
    import torch

    from neural_style.torch.model import TransformerNet

    destination = Path(path)
    if destination.suffix.lower() != ".onnx":
        msg = f"--export_onnx must end in .onnx, got {destination.name!r}"
        raise UsageError(msg)
    plain = TransformerNet().eval().requires_grad_(False)
    plain.load_state_dict(_state_of(net))
    example = torch.rand(1, 3, example_side, example_side) * 255
    height = torch.export.Dim("height", min=5)
    width = torch.export.Dim("width", min=5)
    with atomic_write(destination, "wb", as_file=False, overwrite=True) as temporary, _quiet_exporter():
        torch.onnx.export(
            plain,
            (example,),
            str(temporary),  # as_file=False: the temp file's path
            dynamo=True,
            external_data=False,
            opset_version=OPSET,
            input_names=["input"],
            output_names=["output"],
            dynamic_shapes={"x": {2: height, 3: width}},
            verbose=False,
        )
    log.info("exported ONNX graph %s", destination)
    return destination


def _state_of(net: TransformerNet) -> dict[str, torch.Tensor]:
    # A plain contiguous fp32 CPU copy, whatever device or layout the caller's network uses.
    import torch

    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in net.state_dict().items()}


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's progress lines and deprecation chatter from its dependencies."""
    levels = {name: logging.getLogger(name).level for name in _EXPORTER_LOGGERS}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            for name in _EXPORTER_LOGGERS:
                logging.getLogger(name).setLevel(logging.ERROR)
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
