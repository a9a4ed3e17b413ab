"""Device choice for the engine: the CPU, or a CUDA GPU where this machine and this runtime have one.

:func:`pick_device` turns the example's flags (``--cuda``, ``--accel``, ``--mps``) into a device name;
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


def pick_device(*, cuda: bool = False, accel: bool = False, mps: bool = False) -> DeviceKind:
    """Return the device the example's flags ask for: ``--mps``, ``--accel``, ``--cuda 1``, else the CPU.

    ``--cuda 1`` is taken at its word (the runtime checks it when the model loads). ``--accel`` and
    ``--mps`` ask PyTorch which accelerator this machine has, so only they import torch. Raises
    UsageError for an accelerator that is missing or that this engine cannot run on (all but CUDA).
    """
    if not (accel or mps):
        return "cuda" if cuda else "cpu"
    import torch

    if mps:
        if not torch.backends.mps.is_available():
            msg = "--mps: Apple's MPS backend is not available on this machine; drop the flag to use the CPU"
            raise UsageError(msg)
        name = "mps"
    else:
        if not torch.accelerator.is_available():
            msg = "--accel: no accelerator (CUDA, MPS, XPU) is available here; drop the flag to use the CPU"
            raise UsageError(msg)
        accelerator = torch.accelerator.current_accelerator()
        name = "cpu" if accelerator is None else accelerator.type
    if name not in ("cpu", "cuda"):
        msg = f"the {name} device is not supported by this engine; drop the flag to use the CPU"
        raise UsageError(msg)
    return "cuda" if name == "cuda" else "cpu"


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
