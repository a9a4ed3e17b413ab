"""Sub-pixel rewrites: upsampling layers and narrow wide-kernel layers run on small maps, same outputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_style.loading import multistyle_model_path
from neural_style.onnx.fusion import fuse_instance_norms
from neural_style.onnx.subpixel import convolve_on_blocks, fold_upsampling

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _run(model: Any, image: np.ndarray) -> np.ndarray:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    graph = model.SerializeToString()
    session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    return session.run(None, {"x": image})[0]


def _layer(
    weights: np.ndarray,
    *,
    bias: np.ndarray | None = None,
    upsample: bool = True,
    pad_mode: str = "reflect",
    resize_mode: str = "nearest",
) -> Any:
    """A graph ``x`` -> [2x Resize] -> Pad (``pad_mode``, k // 2) -> Conv(``weights``, ``bias``) -> ``y``."""
    width = weights.shape[2] // 2
    initializers = [
        numpy_helper.from_array(weights, "w"),
        numpy_helper.from_array(np.array([0, 0, width, width, 0, 0, width, width], np.int64), "pads"),
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
    ]
    nodes = []
    source = "x"
    if upsample:
        nodes.append(
            helper.make_node(
                "Resize",
                ["x", "", "scales"],
                ["up"],
                mode=resize_mode,
                coordinate_transformation_mode="asymmetric",
                nearest_mode="floor",
            )
        )
        source = "up"
    nodes.append(helper.make_node("Pad", [source, "pads"], ["padded"], mode=pad_mode))
    conv_inputs = ["padded", "w"]
    if bias is not None:
        initializers.append(numpy_helper.from_array(bias, "b"))
        conv_inputs.append("b")
    nodes.append(helper.make_node("Conv", conv_inputs, ["y"]))
    channels = weights.shape[1]
    graph = helper.make_graph(
        nodes,
        "layer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, "h", "w"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, weights.shape[0], "oh", "ow"])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _kinds(model: Any) -> list[str]:
    return [node.op_type for node in model.graph.node]


@settings(max_examples=25, deadline=None)
@given(
    inputs=st.integers(1, 9),
    outputs=st.integers(1, 9),
    height=st.integers(1, 13),
    width=st.integers(1, 13),
    with_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_an_upsampling_layer_gives_the_same_map_from_the_small_map(
    inputs: int, outputs: int, height: int, width: int, with_bias: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((outputs, inputs, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(outputs).astype(np.float32) if with_bias else None
    image = rng.standard_normal((1, inputs, height, width)).astype(np.float32)
    plain = _layer(weights, bias=bias)
    expected = _run(plain, image)
    assert fold_upsampling(plain) == 1
    assert _kinds(plain) == ["Pad", "Conv", "DepthToSpace"]
    onnx.checker.check_model(plain, full_check=True)
    folded = _run(plain, image)
    assert folded.shape == expected.shape
    np.testing.assert_allclose(folded, expected, rtol=1e-5, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(
    kernel=st.sampled_from([5, 7, 9]),
    inputs=st.integers(1, 8),
    outputs=st.integers(1, 4),
    height=st.integers(3, 9),  # reflection needs a doubled side above k // 2
    width=st.integers(3, 9),
    with_bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_narrow_wide_kernel_layer_gives_the_same_map_on_blocks(
    kernel: int, inputs: int, outputs: int, height: int, width: int, with_bias: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((outputs, inputs, kernel, kernel)).astype(np.float32)
    bias = rng.standard_normal(outputs).astype(np.float32) if with_bias else None
    # After a 2x upsampling (as in the networks), so that the map's sides are even.
    image = rng.standard_normal((1, inputs, height, width)).astype(np.float32)
    plain = _layer(weights, bias=bias)
    expected = _run(plain, image)
    assert convolve_on_blocks(plain) == 1
    assert _kinds(plain) == ["Resize", "Pad", "SpaceToDepth", "Conv", "DepthToSpace"]
    onnx.checker.check_model(plain, full_check=True)
    blocked = _run(plain, image)
    assert blocked.shape == expected.shape
    np.testing.assert_allclose(blocked, expected, rtol=1e-4, atol=1e-4)


def test_a_map_of_unknown_sides_keeps_its_layer() -> None:
    weights = np.ones((3, 4, 9, 9), np.float32)
    model = _layer(weights, upsample=False)  # the photo itself: its sides may be odd
    assert convolve_on_blocks(model) == 0
    assert _kinds(model) == ["Pad", "Conv"]


def test_a_layer_with_many_outputs_keeps_its_form() -> None:
    model = _layer(np.ones((8, 4, 9, 9), np.float32))
    assert convolve_on_blocks(model) == 0


@pytest.mark.parametrize(
    ("pad_mode", "resize_mode"), [("constant", "nearest"), ("edge", "nearest"), ("reflect", "linear")]
)
def test_other_padding_or_resizing_is_left_alone(pad_mode: str, resize_mode: str) -> None:
    model = _layer(np.ones((4, 4, 3, 3), np.float32), pad_mode=pad_mode, resize_mode=resize_mode)
    before = model.SerializeToString()
    assert fold_upsampling(model) == 0
    assert model.SerializeToString() == before


def test_the_26_style_graph_has_two_upsampling_layers_and_one_narrow_layer() -> None:
    model = onnx.load(str(multistyle_model_path()))
    fuse_instance_norms(model)
    assert fold_upsampling(model) == 2
    assert convolve_on_blocks(model) == 1
    kinds = _kinds(model)
    assert "Resize" not in kinds
    assert kinds.count("DepthToSpace") == 3
    onnx.checker.check_model(model, full_check=True)
