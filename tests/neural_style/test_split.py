"""A multi-style graph as a style-free head once per photo and a tail per style: the same pictures."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import numpy as np
import pytest

from neural_style.loading import multistyle_model_path
from neural_style.onnx import split
from neural_style.onnx.fusion import fused_graph
from neural_style.onnx.runner import OnnxStylizer, _split_sessions
from neural_style.onnx.sessions import open_session
from neural_style.onnx.split import MultiStyleGraph, head_graph, style_free_cut, tail_graph

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _photo(seed: int, height: int = 96, width: int = 128) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _refuse() -> split.Sessions:
    raise ValueError("no cut")


def _whole_session() -> object:
    return open_session(multistyle_model_path(), threads=1, rewrite=fused_graph)


def _whole(model: OnnxStylizer, style: int | str, photo: np.ndarray) -> np.ndarray:
    """The picture of the whole graph in one session, as a one-photo command runs it."""
    alone = model.with_style(style)
    alone.graph = MultiStyleGraph(_whole_session(), _whole_session, _refuse)
    return alone.stylize_array(photo)


class _CountingOpens:
    """The real session opener, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> split.Sessions:
        self.calls += 1
        return _split_sessions(multistyle_model_path(), "cpu", 1)


@pytest.fixture(scope="module")
def model() -> OnnxStylizer:
    return OnnxStylizer(multistyle_model_path(), threads=1)


@pytest.fixture
def counted(model: OnnxStylizer) -> tuple[OnnxStylizer, _CountingOpens]:
    """The model with a graph of its own, whose split's opens are counted."""
    opens = _CountingOpens()
    fresh = model.with_style(0)
    fresh.graph = MultiStyleGraph(_whole_session(), _whole_session, opens)
    return fresh, opens


def _kept(model: OnnxStylizer) -> list[np.ndarray]:
    assert model.graph is not None
    return [kept.photo for kept in model.graph._kept]


def test_the_fused_26_style_graph_is_cut_after_its_first_convolution() -> None:
    model = onnx.load_from_string(fused_graph(multistyle_model_path()))
    (cut,) = style_free_cut(model, model.graph.input[1].name)
    producer = next(node for node in model.graph.node if cut in node.output)
    assert producer.op_type == "Conv"
    head = onnx.load_from_string(head_graph(multistyle_model_path()))
    reading_the_image, made = [], {head.graph.input[0].name}
    for node in head.graph.node:  # besides them, only the constant chain that makes the padding's widths
        if made & set(node.input):
            reading_the_image.append(node.op_type)
            made.update(node.output)
    assert reading_the_image == ["Pad", "Conv"]
    tail = onnx.load_from_string(tail_graph(multistyle_model_path()))
    assert [i.name for i in tail.graph.input] == [cut, model.graph.input[1].name]


@pytest.mark.parametrize(("height", "width"), [(96, 128), (61, 47), (436, 512)])
@pytest.mark.parametrize("style", [0, 17, "3:0.5,12:0.5"])
def test_a_photos_later_styles_are_the_whole_graphs_pictures(
    counted: tuple[OnnxStylizer, _CountingOpens], height: int, width: int, style: int | str
) -> None:
    model, _ = counted
    photo = _photo(1, height, width)
    model.with_style(25).stylize_array(photo)  # the first style: whole; the photo is remembered
    for again in range(2):  # the second opens the split; the third finds the head's output kept
        shared = model.with_style(style).stylize_array(photo)
        assert np.array_equal(shared, _whole(model, style, photo)), again


def test_one_photo_in_one_style_never_opens_the_split(counted: tuple[OnnxStylizer, _CountingOpens]) -> None:
    model, opens = counted
    for seed in range(3):
        model.stylize_array(_photo(seed))
    assert opens.calls == 0


def test_the_split_opens_once_when_a_photo_comes_back(counted: tuple[OnnxStylizer, _CountingOpens]) -> None:
    model, opens = counted
    for seed in range(3):
        for style in (0, 9, 18):
            model.with_style(style).stylize_array(_photo(seed))
    assert opens.calls == 1


def test_what_is_kept_stays_within_its_bytes(
    counted: tuple[OnnxStylizer, _CountingOpens], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _ = counted
    photo = _photo(0)
    model.stylize_array(photo)
    model.with_style(5).stylize_array(photo)
    monkeypatch.setattr(split, "MAX_KEPT_PIXELS", 2 * 96 * 128)  # two photos
    for seed in range(1, 6):
        model.stylize_array(_photo(seed))
    assert [np.array_equal(kept, _photo(seed)) for kept, seed in zip(_kept(model), (4, 5), strict=True)] == [
        True,
        True,
    ]


def test_a_photo_too_large_to_keep_runs_whole(
    counted: tuple[OnnxStylizer, _CountingOpens], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, opens = counted
    monkeypatch.setattr(split, "MAX_KEPT_PIXELS", 16 * 16)
    small, large = _photo(0, 16, 16), _photo(1, 64, 64)
    for style in (3, 4):  # never split for it
        assert np.array_equal(model.with_style(style).stylize_array(large), _whole(model, style, large))
    assert opens.calls == 0
    model.stylize_array(small)
    model.with_style(2).stylize_array(small)  # split now, keeping the small photo's head output
    for style in (3, 4):  # the whole graph again
        assert np.array_equal(model.with_style(style).stylize_array(large), _whole(model, style, large))
    assert [kept.shape for kept in _kept(model)] == [small.shape]


def test_the_whole_graphs_session_is_let_go_once_split(counted: tuple[OnnxStylizer, _CountingOpens]) -> None:
    model, _ = counted
    assert model.graph is not None
    whole = weakref.ref(model.graph.session)
    photo = _photo(0)
    model.stylize_array(photo)
    model.with_style(1).stylize_array(photo)
    gc.collect()
    assert whole() is None


def test_threads_stylizing_one_photo_get_the_whole_graphs_pictures(
    counted: tuple[OnnxStylizer, _CountingOpens],
) -> None:
    model, _ = counted
    photo = _photo(7)
    model.stylize_array(photo)
    model.with_style(1).stylize_array(_photo(8))
    model.with_style(1).stylize_array(_photo(8))  # the split is open now
    styles = list(range(8))
    pictures: dict[int, np.ndarray] = {}

    def run(style: int) -> None:
        pictures[style] = model.with_style(style).stylize_array(photo)

    threads = [threading.Thread(target=run, args=(style,)) for style in styles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for style in styles:
        assert np.array_equal(pictures[style], _whole(model, style, photo)), style


def _styled_first(style_enters_first: bool) -> Any:
    """A two-input graph: image -> Conv -> Mul(style) or image -> Mul(style) -> Conv."""
    weights = np.ones((2, 3, 3, 3), np.float32)
    conv_input = "scaled" if style_enters_first else "image"
    nodes = [helper.make_node("Conv", [conv_input, "w"], ["conv"])]
    mul = helper.make_node("Mul", ["image" if style_enters_first else "conv", "style"], ["scaled"])
    nodes = [mul, *nodes] if style_enters_first else [*nodes, mul]
    output = "conv" if style_enters_first else "scaled"
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8]),
            helper.make_tensor_value_info("style", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weights, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_graph_whose_style_enters_first_has_no_cut() -> None:
    assert style_free_cut(_styled_first(style_enters_first=True), "style") == []
    assert style_free_cut(_styled_first(style_enters_first=False), "style") == ["conv"]


def test_a_graph_that_does_not_split_runs_whole(counted: tuple[OnnxStylizer, _CountingOpens]) -> None:
    model, _ = counted
    model.graph = MultiStyleGraph(_whole_session(), _whole_session, _refuse)
    photo = _photo(3)
    for style in (0, 4, 4):
        assert np.array_equal(model.with_style(style).stylize_array(photo), _whole(model, style, photo))
    assert _kept(model) == []


def test_a_photo_the_head_cannot_run_fails_as_the_whole_graph_does_and_nothing_is_kept(
    counted: tuple[OnnxStylizer, _CountingOpens],
) -> None:
    model, opens = counted
    tiny = _photo(0, 3, 3)  # smaller than the first layer's reflection padding
    with pytest.raises(Exception, match="Pad") as whole_error:
        model.stylize_array(tiny)
    with pytest.raises(type(whole_error.value), match="Pad"):
        model.with_style(1).stylize_array(tiny)  # the split opens, and its head fails the same way
    assert opens.calls == 1
    assert _kept(model) == []
    photo = _photo(1)
    assert np.array_equal(model.with_style(2).stylize_array(photo), _whole(model, 2, photo))
