"""The machine the engine runs on: what this CPU can do, which device to use, which number format.

* The CPU's facts, read from the operating system, never assumed: its features (benches print them), its
  physical cores (ONNX Runtime's thread count) and how many of them other processes keep busy.
* The device: :func:`pick_device` turns the example's flags (``--cuda``, ``--accel``, ``--mps``) into a
  name; :func:`device_kind` decides "cpu" or "cuda" from the name alone, without importing torch, so an
  ONNX model on the CPU starts without it; :func:`resolve_device` turns the choice into a
  ``torch.device`` for the PyTorch runner and checks that PyTorch sees a GPU.
* The precision: ``auto`` picks bf16 only where the CPU computes it natively (AVX512_BF16 or AMX). Where
  bf16 is emulated it is several times slower than fp32, so ``auto`` means fp32 there; an explicit
  ``bf16`` is honoured with a one-line warning. ONNX models run in fp32 only.

Torch-free: only :func:`resolve_device`, and :func:`pick_device` for ``--accel``/``--mps``, import torch.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import UsageError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# Flags (as /proc/cpuinfo spells them) that decide which kernels are fast here.
REPORTED_FLAGS = (
    "avx2", "fma", "avx512f", "avx_vnni", "avx512_vnni", "avx512_bf16", "amx_int8", "amx_bf16", "amx_tile",
)  # fmt: skip
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.cache
def cpu_flags() -> frozenset[str]:
    """Return the CPU's feature flags (empty where the OS does not say, e.g. outside Linux)."""
    flags = _first_cpu_fields().get("flags") or _first_cpu_fields().get("Features") or ""
    return frozenset(flags.split())


@functools.cache
def detected_cpu_features() -> frozenset[str]:
    """Return the CPU features this process's libraries find by asking the CPU (NumPy's CPUID probe).

    Kernels are chosen by these, not by /proc/cpuinfo, which says what the OS found at boot; a CPUID mask
    (``bench/avx2_only.c``) makes the two differ. Empty where NumPy does not say.
    """
    try:
        # NumPy's probe result has no public name; this private one is read-only and pinned with NumPy.
        probe = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:
        return frozenset()
    found: dict[str, bool] = getattr(probe, "__cpu_features__", {})
    return frozenset(name for name, present in found.items() if present)


def has_native_bf16() -> bool:
    """Return True where this process computes bf16 natively (AVX512_BF16 or AMX); elsewhere it is emulated.

    Both views must say so: the OS's flags (which name AMX) and the features the process's libraries
    detect (which a CPUID mask can narrow; every CPU with AMX also has AVX512_BF16).
    """
    detected = detected_cpu_features()
    return bool(cpu_flags() & NATIVE_BF16_FLAGS) and (not detected or "AVX512BF16" in detected)


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


def usable_cores() -> int:
    """Return how many logical CPUs this process may run on (its affinity where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return max(os.cpu_count() or 1, 1)


def cores_busy_elsewhere() -> int:
    """Return how many threads of other processes are running or waiting for a core right now.

    Read from the kernel's count of runnable threads (``/proc/loadavg``) less this process's own; 0 where
    the platform does not say, and where this process may run on only some of the machine's CPUs (a
    container's cpuset, ``taskset``): that count covers every CPU, so it would take threads on the others
    for ones on ours. The PyTorch engines use it to leave busy cores alone (see
    :mod:`neural_style.torch.threads`).
    """
    if usable_cores() < (os.cpu_count() or 1):
        return 0
    try:
        runnable = int(Path("/proc/loadavg").read_text(encoding="ascii").split()[3].partition("/")[0])
        own = sum(_is_running(entry.path) for entry in os.scandir("/proc/self/task"))
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, runnable - own)


def _is_running(task: str) -> bool:
    """Whether the thread at ``/proc/self/task/<id>`` is running or runnable (state R)."""
    try:
        stat = Path(task, "stat").read_text(encoding="ascii", errors="replace")
    except OSError:  # it ended meanwhile
        return False
    state = stat[stat.rindex(")") + 2 :][:1]  # the field after the command name, which may hold spaces
    return state == "R"


def describe_cpu() -> str:
    """Return one line naming the CPU and the features that matter here, for bench output."""
    flags = cpu_flags()
    shown = " ".join(flag for flag in REPORTED_FLAGS if flag in flags) or "none of " + " ".join(
        REPORTED_FLAGS
    )
    return f"CPU: {cpu_model()}, {usable_cores()} cores; features: {shown}"


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
