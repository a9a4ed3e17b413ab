"""Device choice for the engine: the CPU, or a CUDA GPU where this machine and this runtime have one.

:func:`device_kind` decides "cpu" or "cuda" from the name alone, without importing torch, so an ONNX model
on the CPU starts without it; :func:`resolve_device` turns the choice into a ``torch.device`` for the PyTorch
runner and checks that PyTorch sees a GPU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .errors import UsageError

if TYPE_CHECKING:
    import torch

DeviceKind = Literal["cpu", "cuda"]
NO_CUDA_HINT = (
    "a CUDA GPU was requested (--cuda 1) but none is available here; use --cuda 0 to run on the CPU"
)


def device_kind(device: str | torch.device) -> DeviceKind:
    """Return "cpu" or "cuda" for a device name (``"cpu"``, ``"cuda"``, ``"cuda:1"``) or a torch.device.

    Only the name is read: nothing is imported and no GPU is probed. Raises UsageError for any other
    device.
    """
    name = device if isinstance(device, str) else device.type
    kind, colon, ordinal = name.strip().partition(":")
    if kind in {"cpu", "cuda"} and (not colon or ordinal.isdigit()):
        return "cuda" if kind == "cuda" else "cpu"
    msg = f"unsupported device {device!r}; use 'cpu' or 'cuda'"
    raise UsageError(msg)


def resolve_device(device: str | torch.device) -> torch.device:
    """Return ``device`` as a torch.device, refusing a GPU this machine or this PyTorch build lacks."""
    import torch

    if device_kind(device) == "cuda" and not torch.cuda.is_available():
        raise UsageError(NO_CUDA_HINT)
    return torch.device(device)
