"""Device choice for the engine: the CPU, or a CUDA GPU where this machine and this PyTorch have one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import NeuralStyleError

if TYPE_CHECKING:
    import torch


def resolve_device(device: str | torch.device) -> torch.device:
    """Return ``device`` as a torch.device, refusing a GPU this machine or this PyTorch build lacks."""
    import torch

    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as err:
        msg = f"unknown device {device!r}; use 'cpu' or 'cuda'"
        raise NeuralStyleError(msg) from err
    if chosen.type == "cuda" and not torch.cuda.is_available():
        msg = "a CUDA GPU was requested (--cuda 1) but none is available here; use --cuda 0 to run on the CPU"
        raise NeuralStyleError(msg)
    if chosen.type not in {"cpu", "cuda"}:
        msg = f"unsupported device {device!r}; use 'cpu' or 'cuda'"
        raise NeuralStyleError(msg)
    return chosen
