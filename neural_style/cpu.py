"""What this CPU can do, read from the operating system, never assumed.

Benches print it, and the engine picks its precision from it (bf16 only where the CPU computes it natively).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

# Flags (as /proc/cpuinfo spells them) that decide which kernels are fast here.
REPORTED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.cache
def cpu_flags() -> frozenset[str]:
    """Return the CPU's feature flags (empty where the OS does not say, e.g. outside Linux)."""
    flags = _first_cpu_fields().get("flags") or _first_cpu_fields().get("Features") or ""
    return frozenset(flags.split())


def has_native_bf16() -> bool:
    """Return True where the CPU computes bf16 natively (AVX512_BF16 or AMX); elsewhere bf16 is emulated."""
    return bool(cpu_flags() & NATIVE_BF16_FLAGS)


@functools.cache
def cpu_model() -> str:
    """Return the CPU's model name (or the machine type where the OS does not say)."""
    model = _first_cpu_fields().get("model name")
    if model:
        return model
    import platform  # only here: most machines name their CPU in /proc/cpuinfo

    return platform.machine() or "unknown CPU"


@functools.cache
def _first_cpu_fields() -> dict[str, str]:
    """Return the fields of the first processor in /proc/cpuinfo (every core lists the same features).

    Only the first block is read: on a machine with hundreds of cores the whole file takes milliseconds,
    which a short command pays at start-up.
    """
    fields: dict[str, str] = {}
    try:
        with Path("/proc/cpuinfo").open(encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                key = key.strip()
                if not key:
                    if fields:
                        break
                    continue
                fields.setdefault(key, value.strip())
    except OSError:
        return {}
    return fields


@functools.cache
def physical_cores() -> int:
    """Return how many physical cores this process may run on (SMT siblings count once; at least 1).

    This is ONNX Runtime's own default thread count, given to it explicitly: left to itself it pins its
    pool threads one per core, so a pinned thread cannot move off a core that the calling thread, another
    worker or another process is using, and the whole pass waits for it.
    """
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not allowed:
        return max(1, os.cpu_count() or 1)
    cores = 0
    counted: set[int] = set()
    for cpu in allowed:
        if cpu in counted:
            continue
        cores += 1
        counted |= _siblings(cpu)
    return max(1, cores)


def _siblings(cpu: int) -> set[int]:
    """Return the logical CPUs sharing ``cpu``'s core (just ``cpu`` where the OS does not say)."""
    path = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError:
        return {cpu}
    siblings = {cpu}
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            siblings.update(range(int(first), int(last or first) + 1))
    return siblings


def describe_cpu() -> str:
    """Return one line naming the CPU and the features that matter here, for bench output."""
    flags = cpu_flags()
    shown = " ".join(flag for flag in REPORTED_FLAGS if flag in flags) or "none of " + " ".join(
        REPORTED_FLAGS
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU: {cpu_model()}, {cores} cores; features: {shown}"
