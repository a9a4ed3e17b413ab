"""The style grammar of multi-style models, in one place: an index (``7``) or a blend (``3:0.5,12:0.5``).

A blend is comma-separated ``index[:weight]`` terms (a missing or empty weight is 1); weights are
non-negative, repeated indices add up, and the weights are rescaled to sum to one. :func:`check_style`
checks the syntax without a model (a workflow can refuse a bad name before any work); :func:`parse_style`
also checks the indices against a model's style count and returns the weight vector. Torch-free, and
numpy only for the vector.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import UsageError

__all__ = ["check_style", "parse_style", "style_count", "style_terms"]

_HINT = "use an index such as 7 or a blend such as 3:0.5,12:0.5"


def style_terms(style: int | str | None) -> list[tuple[int, float]]:
    """Return the ``(index, weight)`` terms of ``style`` (``None`` means style 0), checking the syntax only.

    Raises UsageError for text that is not an index or a blend, a negative index, a weight that is
    negative, infinite or not a number, and weights that add up to zero.
    """
    text = "0" if style is None else str(style).strip()
    terms: list[tuple[int, float]] = []
    for part in text.split(","):
        index_text, _, weight_text = part.partition(":")
        try:
            index = int(index_text)
            weight = float(weight_text) if weight_text.strip() else 1.0
        except ValueError:
            msg = f"bad --style {text!r}: {_HINT}"
            raise UsageError(msg) from None
        if index < 0:
            msg = f"bad --style {text!r}: style indices start at 0"
            raise UsageError(msg)
        if not (weight >= 0 and math.isfinite(weight)):
            msg = f"style weight {weight_text.strip()} must be a non-negative number"
            raise UsageError(msg)
        terms.append((index, weight))
    if sum(weight for _, weight in terms) <= 0:
        msg = f"bad --style {text!r}: the weights add up to zero"
        raise UsageError(msg)
    return terms


def check_style(style: int | str | None) -> None:
    """Refuse ``style`` (UsageError, one line) unless it is an index or a blend; no model needed."""
    style_terms(style)


def parse_style(style: int | str | None, count: int) -> np.ndarray:
    """Return normalised float32 style weights of length ``count`` for an index or a blend.

    ``None`` means style 0. Raises UsageError for bad syntax (see :func:`style_terms`) or an index the
    model does not have.
    """
    weights = np.zeros(count, dtype=np.float32)
    for index, weight in style_terms(style):
        if index >= count:
            msg = f"style index {index} is out of range: this model has styles 0 to {count - 1}"
            raise UsageError(msg)
        weights[index] += weight
    normalised: np.ndarray = weights / weights.sum()
    return normalised


def style_count(model: str | Path | bytes, *, name: str = "the model") -> int:
    """Return how many styles an ONNX model holds (its path or its bytes); 0 for a single-style model.

    A multi-style model declares the count as the length of its second input (the style weights); it is
    read from the graph's declared inputs (:mod:`neural_style.onnx.graph_inputs`): no session, no weights
    run, no ``onnx`` import.

    A path not ending in ``.onnx`` (a checkpoint) holds a single style.

    :raises ValueError: not a readable ONNX graph
    """
    if isinstance(model, (str, Path)):
        if Path(model).suffix.lower() != ".onnx":
            return 0
        name = Path(model).name
        model = Path(model).read_bytes()
    # Here, not at the top: every ONNX run imports this module for parse_style, and only counting needs it.
    from .onnx.graph_inputs import graph_inputs

    try:
        inputs = graph_inputs(model)
    except ValueError as err:
        msg = f"{name} is not an ONNX model"
        raise ValueError(msg) from err
    if len(inputs) < 2 or inputs[1].shape is None or len(inputs[1].shape) != 1:
        return 0
    (count,) = inputs[1].shape
    return count if count is not None and count > 0 else 0
