"""What this CPU can do, read from the operating system, never assumed.

Benches print it, and the engine picks its precision from it (bf16 only where the CPU computes it natively).
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

# Flags (as /proc/cpuinfo spells them) that decide which kernels are fast here.
REPORTED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.cache
def cpu_flags() -> frozenset[str]:
    """Return the CPU's feature flags (empty where the OS does not say, e.g. outside Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"flags", "Features"}:
            return frozenset(value.split())
    return frozenset()


def has_native_bf16() -> bool:
    """Return True where the CPU computes bf16 natively (AVX512_BF16 or AMX); elsewhere bf16 is emulated."""
    return bool(cpu_flags() & NATIVE_BF16_FLAGS)


@functools.cache
def cpu_model() -> str:
    """Return the CPU's model name (or the machine type where the OS does not say)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.machine() or "unknown CPU"


def describe_cpu() -> str:
    """Return one line naming the CPU and the features that matter here, for bench output."""
    flags = cpu_flags()
    shown = " ".join(flag for flag in REPORTED_FLAGS if flag in flags) or "none of " + " ".join(
        REPORTED_FLAGS
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU: {cpu_model()}, {cores} cores; features: {shown}"
