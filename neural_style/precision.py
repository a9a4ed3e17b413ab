"""Which number format a model computes in: ``auto`` picks bf16 only where the CPU computes it natively.

Torch-free. Where bf16 is emulated (no AVX512_BF16 or AMX) it is several times slower than fp32, so ``auto``
means fp32 there; an explicit ``bf16`` is honoured with a one-line warning. ONNX models run in fp32 only.
"""

from __future__ import annotations

import logging
from typing import Literal

from .cpu import has_native_bf16
from .errors import UsageError

log = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "bf16"]
Resolved = Literal["fp32", "bf16"]
PRECISIONS: tuple[Precision, ...] = ("auto", "fp32", "bf16")


def check_precision(precision: str) -> Precision:
    """Return ``precision`` if it is one of :data:`PRECISIONS`; otherwise raise UsageError."""
    if precision not in PRECISIONS:
        msg = f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        raise UsageError(msg)
    return precision


def resolve_precision(
    precision: str,
    *,
    device: Literal["cpu", "cuda"] = "cpu",
    onnx: bool = False,
    native_bf16: bool | None = None,
) -> Resolved:
    """Return the precision a model runs in for the requested one (see the module docstring).

    ``native_bf16`` is the CPU's fact (default: read from this CPU); pass it to decide for another CPU.
    On a GPU ``auto`` means fp32 (the workflow's pixels stay those of the CPU's fp32 path).
    """
    requested = check_precision(precision)
    if onnx:
        if requested == "bf16":
            msg = "ONNX models run in fp32 only; drop the precision option"
            raise UsageError(msg)
        return "fp32"
    if device == "cuda":
        return "fp32" if requested == "auto" else requested
    native = has_native_bf16() if native_bf16 is None else native_bf16
    if requested == "auto":
        return "bf16" if native else "fp32"
    if requested == "bf16" and not native:
        log.warning("bf16 is slower than fp32 on this CPU (no AVX512_BF16 or AMX); use --precision auto")
    return requested
