"""Check a batch's style indices against its models before any work, reading each model's style count cheaply.

A multi-style ONNX model's style count is read from its graph's declared inputs
(:func:`neural_style.styles.style_count`: about a millisecond, no ``onnx`` import). Checkpoints (``.pth``,
``.model``, ``.pt``) and one-input ONNX models hold a single style, so any ``--style`` is refused for them.
The model is read from this machine's cached copy when that is the remote's version, else from the remote
into memory; nothing is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from csci_utils.luigi.locations import join, target_for
from csci_utils.luigi.versions import object_version
from neural_style.styles import style_count
from pset_4.settings import MODELS, WorkflowSettings
from pset_4.tasks.data import check_cached_copy

__all__ = ["check_style_indices", "every_style"]

log = logging.getLogger(__name__)


def check_style_indices(pairs: Iterable[tuple[str, str | None]], settings: WorkflowSettings) -> None:
    """Refuse (ValueError, one line) a style a model does not have, for each ``(model, style)`` pair.

    Pairs with no style are not checked (and their models not read). A model that is no ONNX graph is not
    checked either: its tasks fail on it, and the batch reports it as an unusable input (exit 4).
    """
    from neural_style.styles import style_terms

    counts: dict[str, int | None] = {}
    for model, style in pairs:
        if style is None:
            continue
        if model not in counts:
            try:
                counts[model] = _count(model, settings)
            except ValueError as err:
                log.debug("not checking the styles of %s: %s", model, err)
                counts[model] = None
        count = counts[model]
        if count is None:
            continue
        if count == 0:
            msg = f"{model} holds a single style; --style only applies to multi-style .onnx models"
            raise ValueError(msg)
        for index, _ in style_terms(style):
            if index >= count:
                msg = f"style {style!r}: index {index} is out of range, {model} has styles 0 to {count - 1}"
                raise ValueError(msg)


def every_style(model: str, settings: WorkflowSettings) -> list[str | None]:
    """Return every style of ``model`` as ``--style`` values (``[None]``: its single style).

    A model that is no ONNX graph also gets ``[None]``: its task fails on it, and the batch reports it as
    an unusable input (exit 4).
    """
    try:
        count = _count(model, settings)
    except ValueError as err:
        log.debug("not reading the styles of %s: %s", model, err)
        return [None]
    return [str(index) for index in range(count)] or [None]


def _count(model: str, settings: WorkflowSettings) -> int:
    """Return the style count of ``model``: from this machine's copy if it is the remote's, else the remote.

    Nothing is written: a machine whose results are all done already downloads nothing.
    """
    if not model.lower().endswith(".onnx"):
        return 0  # a checkpoint: known from its suffix
    cached = Path(settings.cache_root, MODELS, model)
    remote = target_for(join(settings.remote_root, MODELS, model), binary=True)
    version = object_version(remote)
    if version is None:
        return style_count(cached)  # only the cache has it (it is uploaded before the batch)
    if cached.is_file():
        try:
            check_cached_copy(cached, version, str(remote.path))
        except ValueError:
            pass  # stale: the remote's is the one the batch will use
        else:
            return style_count(cached)
    log.debug("reading %s for its style count", remote.path)
    with remote.open("r") as f:
        data: bytes = f.read()
    return style_count(data, name=model)
