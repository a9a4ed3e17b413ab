"""ONNX Runtime sessions, made one way for every network here, with a cache of optimised graphs.

Building a session optimises its graph (constant folding, fusions, the NCHWc layout for this CPU's vector
width), which is a tenth of a short command's time. The optimised graph is saved atomically in
:func:`cache_dir` the first time, keyed by the graph's bytes, the ONNX Runtime version and the CPU's
features, as the OS reports them and as this process detects them (an optimised graph holds a layout
chosen for this CPU's vector width); later sessions load it with the optimiser off. A damaged or
unwritable cache only costs that saving, never a failure.

onnxruntime is imported when a session is made, never at import time.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from csci_utils.io import atomic_write
from neural_style.errors import NeuralStyleError, UsageError
from neural_style.hardware import cpu_flags, detected_cpu_features, physical_cores

__all__ = ["cache_dir", "check_on_gpu", "graph_key", "onnxruntime_has_cuda", "open_session", "providers_for"]

log = logging.getLogger(__name__)

# Warnings and below: ORT warns on every save that an optimised graph is hardware specific, which the
# cache key already takes care of.
_QUIET = 3

Rewrite = Callable[[Path], str | bytes]  # a graph as a file name or as serialised bytes


def cache_dir() -> Path:
    """Return where optimised graphs are kept: ``$NEURAL_STYLE_CACHE``, else the user's cache folder."""
    explicit = os.environ.get("NEURAL_STYLE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "neural_style"


def providers_for(device: str) -> list[str]:
    """Return ONNX Runtime's execution providers for ``device`` (``"cpu"`` or ``"cuda"``), or raise."""
    if device not in ("cpu", "cuda"):
        msg = f"unknown device {device!r} for an ONNX model; use 'cpu' or 'cuda'"
        raise UsageError(msg)
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if not onnxruntime_has_cuda():
        msg = "this ONNX Runtime has no CUDA support; use --cuda 0"
        raise UsageError(msg)
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def onnxruntime_has_cuda() -> bool:
    """Whether the installed ONNX Runtime is a build with CUDA (the ``onnxruntime-gpu`` package)."""
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def check_on_gpu(providers: list[str]) -> None:
    """Refuse a session that ONNX Runtime quietly put on the CPU when CUDA was asked for."""
    if not providers or providers[0] != "CUDAExecutionProvider":
        msg = "ONNX Runtime could not start CUDA here (see its warnings above); use --cuda 0 for the CPU"
        raise NeuralStyleError(msg)


def open_session(
    source: str | os.PathLike[str],
    *,
    device: str = "cpu",
    threads: int | None = None,
    lean: bool = False,
    rewrite: Rewrite | None = None,
) -> Any:
    """Return an ``onnxruntime.InferenceSession`` for the graph at ``source``, optimised once per machine.

    ``threads`` caps the session's intra-op threads (default: one per physical core, never pinned). ``lean``
    trades speed for memory (basic optimisation, no arena: for pictures too big for the fast graph).
    ``rewrite`` turns the file into the graph to run (for example with symbolic sides); its result is
    what gets optimised and cached. On a GPU the graph is optimised in memory each time.
    """
    path = Path(source)
    providers = providers_for(device)
    if device != "cpu":
        session = _session(_graph(path, rewrite), providers, threads, lean=lean)
        check_on_gpu(session.get_providers())
        return session
    key = graph_key(path, rewrite=_rewrite_name(rewrite), lean=lean)
    cached = cache_dir() / f"{path.stem}-{key}.onnx"
    if cached.is_file():
        try:
            return _session(str(cached), providers, threads, lean=lean, optimized=True)
        except Exception:  # ORT raises its own RuntimeError kinds; a damaged entry is rebuilt, never fatal
            log.warning("rebuilding the damaged cached graph %s", cached)
    graph = _graph(path, rewrite)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(cached, "wb", as_file=False, overwrite=True) as temporary:
            return _session(graph, providers, threads, lean=lean, save_to=str(temporary))
    except OSError as err:
        log.debug("not caching the optimised graph (%s)", err)
        return _session(graph, providers, threads, lean=lean)


def _graph(path: Path, rewrite: Rewrite | None) -> str | bytes:
    return str(path) if rewrite is None else rewrite(path)


def _rewrite_name(rewrite: Rewrite | None) -> str:
    # The package version and the rewrite module's REVISION (bumped with each change to what it makes) are
    # in the name, so that neither a release nor a change between releases reuses a graph cached before.
    if rewrite is None:
        return ""
    from neural_style import __version__

    revision = getattr(sys.modules.get(rewrite.__module__), "REVISION", 0)
    return f"{rewrite.__module__}.{rewrite.__qualname__}@{__version__}#{revision}"


def graph_key(source: str | os.PathLike[str], *, rewrite: str = "", lean: bool = False) -> str:
    """Return the key of the graph at ``source`` as this machine optimises it (bytes, ORT version, CPU).

    ``rewrite`` names the rewrite applied before optimising ("" for none).
    """
    path = Path(source)
    try:
        status = path.stat()
    except OSError as err:
        msg = f"cannot read the model {path}: {err.strerror or err}"
        raise NeuralStyleError(msg) from err
    return _graph_key(str(path), status.st_size, status.st_mtime_ns, rewrite, lean)


@functools.cache
def _graph_key(path: str, size: int, mtime_ns: int, rewrite: str, lean: bool) -> str:
    # Size and mtime only decide when to hash again within a process; the key is the bytes' digest.
    # hashlib (OpenSSL, 3-4 ms) is imported here, on the thread that opens the session while the command's
    # main thread decodes the photo, rather than with this module, before anything can overlap it.
    import hashlib

    import onnxruntime

    try:
        digest = hashlib.sha256(Path(path).read_bytes())
    except OSError as err:
        msg = f"cannot read the model {path}: {err.strerror or err}"
        raise NeuralStyleError(msg) from err
    # What the OS reports and what this process's libraries detect: a graph optimised where ONNX Runtime
    # found AVX-512 runs silently wrong with its AVX2 kernels (another layout of channel blocks).
    features = " ".join(sorted(cpu_flags())) + "|" + " ".join(sorted(detected_cpu_features()))
    digest.update(f"{onnxruntime.__version__}|{features}|{rewrite}|{lean}".encode())
    return digest.hexdigest()[:20]


def _session(
    model: str | bytes,
    providers: list[str],
    threads: int | None,
    *,
    lean: bool = False,
    optimized: bool = False,
    save_to: str | None = None,
) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = _QUIET
    # ORT's pool threads otherwise spin between operators: on a machine whose cores are busy (other
    # processes, other workers) the spinning steals the cores the next operator needs, and it slows the
    # session's own set-up; on an idle machine it saves only wake-ups (figures: docs/performance.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    if providers[0] == "CPUExecutionProvider":
        # A memory pattern (one block planned from the first run for every later run of the same shape)
        # doubled the 26-style network's peak memory (1.38 GB against 0.63 at 1400x1400) and made its
        # second run slower (402-427 ms against 304-306 at 1024 px); first and later runs were as fast
        # without it (docs/performance.md).
        options.enable_mem_pattern = False
    if lean:
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    if optimized:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    if save_to is not None:
        options.optimized_model_filepath = save_to
    # Always an explicit count: with none, ONNX Runtime pins each pool thread to a core, and a pinned
    # thread that shares its core with the caller or another worker stalls every pass (about 1.6x slower
    # in the workflow, where a task's own work runs between passes). More threads than cores costs.
    options.intra_op_num_threads = threads if threads is not None else physical_cores()
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model, options, providers=providers)
