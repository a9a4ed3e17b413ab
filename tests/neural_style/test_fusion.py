"""Fused instance norms: the pretrained 26-style graph runs with fewer passes and gives the same picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neural_style.loading import multistyle_model_path
from neural_style.onnx.fusion import fuse_instance_norms, fused_graph


def _run(graph: str | bytes, image: np.ndarray, weights: np.ndarray) -> np.ndarray:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    names = [node.name for node in session.get_inputs()]
    return session.run(None, {names[0]: image, names[1]: weights})[0]


def test_every_norm_of_the_26_style_graph_is_fused() -> None:
    import onnx

    model = onnx.load(str(multistyle_model_path()))
    assert fuse_instance_norms(model) == 18
    kinds = [node.op_type for node in model.graph.node]
    assert kinds.count("InstanceNormalization") == 18
    assert "Pow" not in kinds
    assert fuse_instance_norms(model) == 0  # nothing left to fuse


def test_the_styles_scale_and_shift_become_the_norms_own() -> None:
    import onnx

    model = onnx.load(str(multistyle_model_path()))
    fuse_instance_norms(model)
    producer = {output: node for node in model.graph.node for output in node.output}
    norms = [node for node in model.graph.node if node.op_type == "InstanceNormalization"]
    # Every norm reads the style's scale and shift (computed from the style weights), not constants.
    assert all(producer[name].op_type == "Reshape" for norm in norms for name in norm.input[1:])
    kinds = [node.op_type for node in model.graph.node]
    assert kinds.count("Add") == 6  # only the residual blocks' sums are left


def test_no_node_is_left_without_a_consumer() -> None:
    import onnx

    model = onnx.load(str(multistyle_model_path()))
    fuse_instance_norms(model)
    used = {name for node in model.graph.node for name in node.input}
    used |= {output.name for output in model.graph.output}
    assert all(any(name in used for name in node.output) for node in model.graph.node)
    onnx.checker.check_model(model, full_check=True)


@pytest.mark.parametrize(("height", "width"), [(97, 131), (64, 64)])
@pytest.mark.parametrize("style", ["0", "17", "blend"])
def test_the_fused_graph_gives_the_same_picture(height: int, width: int, style: str) -> None:
    rng = np.random.default_rng(height + width)
    image = rng.uniform(0, 1, (1, 3, height, width)).astype(np.float32)
    weights = np.zeros(26, np.float32)
    if style == "blend":
        weights[[3, 12]] = 0.5
    else:
        weights[int(style)] = 1.0
    shipped = _run(str(multistyle_model_path()), image, weights)
    fused = _run(fused_graph(multistyle_model_path()), image, weights)
    assert fused.shape == shipped.shape
    assert np.abs(fused * 255 - shipped * 255).max() < 0.05  # far inside one 8-bit level


def test_a_graph_without_spelled_out_norms_is_left_as_it_is(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])],
    )
    model = helper.make_model(graph)
    before = model.SerializeToString()
    assert fuse_instance_norms(model) == 0
    assert model.SerializeToString() == before
    onnx.checker.check_model(model)


def test_a_file_with_nothing_to_fuse_is_run_as_it_is(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])],
    )
    path = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph), str(path))
    assert fused_graph(path) == str(path)
