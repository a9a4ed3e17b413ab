"""The example's modules (neural_style.neural_style, transformer_net, utils, vgg.Vgg16) over our engine."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from csci_utils.exit_codes import ExitCode
from neural_style import utils
from neural_style.image import load_image as our_load_image
from neural_style.loading import load_model, multistyle_model_path
from neural_style.torch.model import TransformerNet as OurTransformerNet
from neural_style.transformer_net import ConvLayer, ResidualBlock, TransformerNet, UpsampleConvLayer
from neural_style.vgg import Vgg16

ROOT = Path(__file__).resolve().parents[2]


def _pixels(path: str | Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run PyTorch's passes on one thread, as many as the picture compared with them.

    A pass takes fewer threads while other processes keep cores busy (``threads_left_free``), and oneDNN's
    kernels for another thread count may round differently: in emulated bf16, up to 3 levels apart.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("one_torch_thread")
def test_the_specs_option_b_snippet_runs_verbatim(
    published_checkpoint: Path, photo: Path, tmp_path: Path
) -> None:
    from neural_style.neural_style import stylize

    temp_output_path = str(tmp_path / "out.png")
    inputs = {"image": type("Target", (), {"path": str(photo)})()}

    class args:
        content_image = inputs["image"].path
        output_image = temp_output_path
        model = str(published_checkpoint)
        cuda = 0
        content_scale = None
        export_onnx = None

    stylize(args)
    expected = load_model(published_checkpoint).stylize(our_load_image(photo))
    assert (_pixels(temp_output_path) == np.asarray(expected)).all()


def test_stylize_takes_a_style_picture_and_strength(
    photo: Path, tmp_path: Path, make_photo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neural_style.neural_style import stylize

    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(tmp_path / "cache"))

    painting = make_photo(tmp_path / "painting.png", width=64, height=64, seed=3)
    out = tmp_path / "out.png"
    namespace = type(
        "Args",
        (),
        {
            "content_image": str(photo),
            "output_image": str(out),
            "style_image": str(painting),
            "strength": 0.5,
        },
    )
    stylize(namespace)
    assert _pixels(out).shape == (40, 48, 3)


def test_stylize_onnx_returns_the_models_output_tensor(photo: Path) -> None:
    from neural_style.neural_style import stylize_onnx

    model = multistyle_model_path()
    rgb = np.asarray(our_load_image(photo))
    tensor = torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32)).unsqueeze(0)
    out = stylize_onnx(tensor, type("Args", (), {"model": str(model), "export_onnx": None}))
    expected = load_model(model).stylize_array(rgb)
    assert out.shape == (1, 3, 40, 48)
    assert (out[0].permute(1, 2, 0).numpy() == expected).all()


def test_check_paths_creates_the_model_folders(tmp_path: Path) -> None:
    from neural_style.neural_style import check_paths

    args = type(
        "Args", (), {"save_model_dir": str(tmp_path / "a" / "b"), "checkpoint_model_dir": str(tmp_path / "c")}
    )
    check_paths(args)
    assert (tmp_path / "a" / "b").is_dir()
    assert (tmp_path / "c").is_dir()


def test_train_without_vgg_weights_says_where_they_come_from(tmp_path: Path) -> None:
    from neural_style.neural_style import train

    args = type(
        "Args", (), {"dataset": str(tmp_path), "style_image": "s.jpg", "save_model_dir": str(tmp_path)}
    )
    with pytest.raises(FileNotFoundError, match="--vgg-weights"):
        train(args)


@pytest.mark.parametrize("entry", ["neural_style.neural_style", "neural_style.cli"])
@pytest.mark.parametrize("flag", ["--mps", "--accel"])
def test_unavailable_device_flags_are_one_line_and_exit_2(
    photo: Path, tmp_path: Path, flag: str, entry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main = importlib.import_module(entry).main  # the example's entry and ours: one parser
    if flag == "--accel" and torch.accelerator.is_available():
        pytest.skip("this machine has an accelerator")
    out = tmp_path / "out.png"
    code = main(["eval", "--content-image", str(photo), "--model", "m.pth", "--output-image", str(out), flag])
    assert code == ExitCode.USAGE
    assert capsys.readouterr().err.count("\n") == 1
    assert not out.exists()


def test_running_the_module_file_as_a_script_prints_the_right_command(tmp_path: Path) -> None:
    script = ROOT / "neural_style" / "neural_style.py"
    done = subprocess.run(
        [sys.executable, str(script), "eval", "--content-image", "x.jpg"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE
    assert "python -m neural_style" in done.stderr
    assert done.stderr.count("\n") == 1


def test_upsample_conv_layer_takes_the_examples_arguments() -> None:
    layer = UpsampleConvLayer(4, 6, kernel_size=3, stride=1, upsample=2)
    assert layer(torch.rand(1, 4, 5, 7)).shape == (1, 6, 10, 14)
    assert UpsampleConvLayer(4, 6, kernel_size=3, stride=2)(torch.rand(1, 4, 8, 8)).shape == (1, 6, 4, 4)


def test_example_layers_state_dicts_load_into_ours() -> None:
    theirs = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
    ours = OurTransformerNet().deconv1
    ours.load_state_dict(theirs.state_dict())
    x = torch.rand(1, 128, 6, 6)
    assert torch.equal(ours(x), theirs(x))
    assert TransformerNet is OurTransformerNet
    assert ConvLayer(3, 8, kernel_size=3, stride=2)(torch.rand(1, 3, 8, 8)).shape == (1, 8, 4, 4)
    assert ResidualBlock(8)(torch.rand(1, 8, 4, 4)).shape == (1, 8, 4, 4)


def test_utils_load_image_size_and_scale(make_photo, tmp_path: Path) -> None:
    path = make_photo(tmp_path / "p.png", width=40, height=30)
    assert utils.load_image(path).size == (40, 30)
    assert utils.load_image(path, size=16).size == (16, 16)
    assert utils.load_image(path, scale=2).size == (20, 15)


def test_utils_save_image_writes_a_chw_tensor(tmp_path: Path) -> None:
    data = torch.rand(3, 10, 12) * 300 - 20
    path = utils.save_image(tmp_path / "out.png", data)
    expected = data.clamp(0, 255).numpy().transpose(1, 2, 0).astype(np.uint8)
    assert (_pixels(path) == expected).all()


def test_utils_normalize_batch_leaves_its_argument_alone() -> None:
    batch = torch.full((1, 3, 2, 2), 255.0)
    out = utils.normalize_batch(batch)
    assert torch.equal(batch, torch.full((1, 3, 2, 2), 255.0))
    assert torch.allclose(
        out[0, :, 0, 0], (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    )


def test_utils_gram_matrix_is_normalised_by_size() -> None:
    features = torch.ones(2, 3, 4, 5)
    assert torch.allclose(utils.gram_matrix(features), torch.full((2, 3, 3), 1 / 3))


@pytest.mark.slow
def test_vgg16_takes_the_examples_requires_grad_and_local_weights(tmp_path: Path) -> None:
    source = Vgg16()
    path = tmp_path / "vgg16.pth"
    torch.save(source.state_dict(), path)
    net = Vgg16(requires_grad=False, weights=path)
    assert not any(p.requires_grad for p in net.parameters())
    assert all(
        torch.equal(a, b)
        for a, b in zip(net.state_dict().values(), source.state_dict().values(), strict=True)
    )
    assert all(p.requires_grad for p in Vgg16(requires_grad=True).parameters())


def test_vgg16_with_a_missing_weights_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        Vgg16(weights=tmp_path / "nope.pth")
