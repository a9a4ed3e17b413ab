"""neural_style.onnx.graph_inputs: a model's declared inputs read from its bytes, as ``onnx`` reads them."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from neural_style.loading import multistyle_model_path
from neural_style.onnx.graph_inputs import GraphInput, graph_inputs
from neural_style.styles import style_count

NAMES = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
DIMENSION = st.one_of(st.integers(min_value=-5, max_value=2**40), st.sampled_from(["N", "height", ""]))
SHAPE = st.one_of(st.none(), st.lists(DIMENSION, max_size=4))


def as_onnx_reads_it(model: bytes) -> list[GraphInput]:
    """The inputs ``onnx`` parses from ``model``, weights left out, in the reader's terms."""
    graph = onnx.load_model_from_string(model).graph
    weights = {tensor.name for tensor in graph.initializer}
    found = []
    for value in graph.input:
        if value.name in weights:
            continue
        tensor = value.type.tensor_type
        shape = None
        if tensor.HasField("shape"):
            shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
        found.append(GraphInput(value.name, shape))
    return found


def a_model(inputs: list[tuple[str, list[int | str] | None]], weights: list[str]) -> bytes:
    """Serialise a graph with these declared inputs (name, shape) and these initializer names."""
    declared = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in inputs]
    initializers = [helper.make_tensor(name, TensorProto.FLOAT, [1], [0.5]) for name in weights]
    graph = helper.make_graph([], "g", declared, [], initializer=initializers)
    return helper.make_model(graph).SerializeToString()


def test_the_shipped_26_style_model_declares_a_photo_and_26_style_weights() -> None:
    model = multistyle_model_path().read_bytes()
    assert graph_inputs(model) == as_onnx_reads_it(model)
    assert [each.name for each in graph_inputs(model)] == ["image", "style_weights"]
    assert graph_inputs(model)[1].shape == (26,)
    assert style_count(model) == 26


@settings(max_examples=200, deadline=None)
@given(
    inputs=st.lists(st.tuples(NAMES, SHAPE), max_size=4),
    weights=st.lists(NAMES, max_size=3),
)
def test_generated_models_read_as_onnx_reads_them(
    inputs: list[tuple[str, list[int | str] | None]], weights: list[str]
) -> None:
    model = a_model(inputs, weights)
    assert graph_inputs(model) == as_onnx_reads_it(model)


def test_an_input_that_is_also_a_weight_is_not_declared() -> None:
    model = a_model([("image", [1, 3, "h", "w"]), ("bias", [4]), ("style", [7])], ["bias"])
    assert [each.name for each in graph_inputs(model)] == ["image", "style"]
    assert style_count(model) == 7


@pytest.mark.parametrize(
    ("shape", "count"),
    [([26], 26), (["styles"], 0), ([0], 0), ([-3], 0), ([2, 13], 0), (None, 0)],
)
def test_only_a_second_input_of_one_known_positive_size_counts_styles(
    shape: list[int | str] | None, count: int
) -> None:
    assert style_count(a_model([("image", [1, 3, 8, 8]), ("style", shape)], [])) == count


def test_a_model_with_one_input_holds_a_single_style() -> None:
    assert style_count(a_model([("image", [1, 3, 8, 8])], [])) == 0


@given(st.binary(max_size=64))
def test_any_bytes_give_inputs_or_one_value_error(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        graph_inputs(data)


def test_every_truncation_of_a_real_model_gives_inputs_or_one_value_error() -> None:
    model = a_model([("image", [1, 3, "h", "w"]), ("style", [26])], ["w1"])
    for end in range(len(model)):
        with contextlib.suppress(ValueError):
            graph_inputs(model[:end])


def test_bytes_that_are_not_protobuf_are_not_an_onnx_model() -> None:
    with pytest.raises(ValueError, match=r"broken\.onnx is not an ONNX model"):
        style_count(b"not a model at all", name="broken.onnx")


def test_counting_styles_does_not_import_onnx() -> None:
    script = (
        "import sys\nfrom neural_style.styles import style_count\n"
        "from neural_style.loading import multistyle_model_path\n"
        "print(style_count(multistyle_model_path()), 'onnx' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["26", "False"]
