"""Check a batch's style indices against its models before any work, reading each model's style count cheaply.

A multi-style ONNX model declares its style count as the length of its second input (the style weights);
that is read from the graph with ``onnx`` (no session, no weights run). Checkpoints (``.pth``, ``.model``,
``.pt``) and one-input ONNX models hold a single style, so any ``--style`` is refused for them. The model
file is this machine's cached copy when it is the remote's version, else it is downloaded into the cache
first (atomically, as the stylize task would).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from csci_utils.luigi.storage import join, object_version, target_for
from csci_utils.luigi.tasks import copy_target
from pset_4.settings import MODELS, WorkflowSettings
from pset_4.versions import check_cached_copy

__all__ = ["check_style_indices", "style_count"]

log = logging.getLogger(__name__)


def style_count(path: str | Path) -> int:
    """Return how many styles the model at ``path`` holds; 0 for a single-style model (no style input).

    :raises ValueError: an ``.onnx`` file that is not a readable ONNX graph
    """
    source = Path(path)
    if source.suffix.lower() != ".onnx":
        return 0
    import onnx

    try:
        graph = onnx.load(str(source), load_external_data=False).graph
    except Exception as err:  # protobuf's DecodeError and others: the file is no ONNX graph
        msg = f"{source.name} is not an ONNX model"
        raise ValueError(msg) from err
    weights = {tensor.name for tensor in graph.initializer}
    inputs = [node for node in graph.input if node.name not in weights]
    if len(inputs) < 2:
        return 0
    dims = inputs[1].type.tensor_type.shape.dim
    return int(dims[0].dim_value) if len(dims) == 1 and dims[0].dim_value > 0 else 0


def check_style_indices(pairs: Iterable[tuple[str, str | None]], settings: WorkflowSettings) -> None:
    """Refuse (ValueError, one line) a style a model does not have, for each ``(model, style)`` pair.

    Pairs with no style are not checked (and their models not read).
    """
    from neural_style.styles import style_terms

    counts: dict[str, int] = {}
    for model, style in pairs:
        if style is None:
            continue
        if model not in counts:
            counts[model] = style_count(_local_copy(model, settings))
        count = counts[model]
        if count == 0:
            msg = f"{model} holds a single style; --style only applies to multi-style .onnx models"
            raise ValueError(msg)
        for index, _ in style_terms(style):
            if index >= count:
                msg = f"style {style!r}: index {index} is out of range, {model} has styles 0 to {count - 1}"
                raise ValueError(msg)


def _local_copy(model: str, settings: WorkflowSettings) -> Path:
    """Return this machine's copy of the remote model, downloading it into the cache if stale or absent."""
    cached = Path(settings.cache_root, MODELS, model)
    if not model.lower().endswith(".onnx"):
        return cached  # the count of a checkpoint is known from its suffix
    remote = target_for(join(settings.remote_root, MODELS, model), binary=True)
    version = object_version(remote)
    if version is None:
        return cached  # only the cache has it (it is uploaded before the batch)
    if cached.is_file():
        try:
            check_cached_copy(cached, version, str(remote.path))
        except ValueError:
            cached.unlink(missing_ok=True)
        else:
            return cached
    log.debug("downloading %s to read its style count", remote.path)
    copy_target(remote, target_for(cached.as_posix(), binary=True))
    return cached
