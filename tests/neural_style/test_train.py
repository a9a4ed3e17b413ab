"""Training for real on a tiny generated dataset with stand-in (random) VGG16 weights."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from neural_style.errors import NeuralStyleError
from neural_style.torch.model import TransformerNet, load_transformer
from neural_style.train import PerceptualLoss, gram_matrix, list_images, resize_center_crop, train
from neural_style.vgg import Vgg16, load_vgg16

SIZE = 32


def _photo(rng: np.random.Generator, index: int) -> Image.Image:
    yy, xx = np.mgrid[0:SIZE, 0 : SIZE + 8]
    base = np.stack([(xx * (index + 1) * 7) % 256, (yy * (index + 3) * 5) % 256, ((xx + yy) * 9) % 256], -1)
    noisy = base + rng.integers(-30, 30, base.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Eight 40x32 photos in two class folders, a striped style image, stand-in VGG16 weights."""
    root = tmp_path_factory.mktemp("training")
    rng = np.random.default_rng(0)
    for index in range(8):
        folder = root / "photos" / f"class_{index % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        _photo(rng, index).save(folder / f"{index}.png")
    yy, xx = np.mgrid[0:48, 0:48]
    stripes = np.stack([(xx // 4) % 2 * 255, (yy // 6) % 2 * 200, np.full_like(xx, 60)], -1)
    Image.fromarray(stripes.astype(np.uint8)).save(root / "style.png")
    torch.manual_seed(0)
    # torchvision's layout: features.* plus classifier.* entries, which loading must ignore.
    state = dict(Vgg16().state_dict())
    state["classifier.0.weight"] = torch.zeros(4, 8)
    torch.save(state, root / "vgg16.pth")
    return {"photos": root / "photos", "style": root / "style.png", "vgg": root / "vgg16.pth"}


def _train(assets: dict[str, Path], out: Path, **options: object) -> Path:
    settings: dict[str, object] = {"batch_size": 2, "image_size": SIZE, "epochs": 50, "log_interval": 1}
    settings.update(options)
    return train(assets["photos"], assets["style"], out, vgg_weights=assets["vgg"], **settings)  # type: ignore[arg-type]


def _total_losses(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [record.total_loss for record in caplog.records if hasattr(record, "total_loss")]


@pytest.mark.slow
def test_training_lowers_the_loss(
    assets: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="neural_style")
    _train(assets, tmp_path / "models", max_steps=20)
    losses = _total_losses(caplog)
    assert len(losses) == 20
    assert all(np.isfinite(losses))
    assert np.mean(losses[-4:]) < 0.9 * np.mean(losses[:4])


@pytest.mark.slow
def test_log_interval_sets_how_often_losses_are_logged(
    assets: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="neural_style")
    _train(assets, tmp_path / "models", max_steps=6, log_interval=3)
    steps = [record.step for record in caplog.records if hasattr(record, "total_loss")]
    assert steps == [3, 6]


@pytest.mark.slow
def test_checkpoints_are_published_state_dicts_that_load_for_eval(
    assets: dict[str, Path], tmp_path: Path
) -> None:
    final = _train(
        assets,
        tmp_path / "models",
        max_steps=4,
        checkpoint_model_dir=tmp_path / "ckpt",
        checkpoint_interval=2,
    )
    # 8 photos in batches of 2: steps 2 and 4 end batches 2 and 4 of epoch 0.
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == [
        "ckpt_epoch_0_batch_id_2.pth",
        "ckpt_epoch_0_batch_id_4.pth",
    ]
    assert [p.name for p in (tmp_path / "models").iterdir()] == [final.name]
    expected_keys = set(TransformerNet().state_dict())
    photo = torch.rand(1, 3, SIZE, SIZE) * 255
    for path in [final, *(tmp_path / "ckpt").iterdir()]:
        state = torch.load(path, weights_only=True)
        assert set(state) == expected_keys
        assert all(t.dtype == torch.float32 and t.device.type == "cpu" for t in state.values())
        net = load_transformer(path)
        with torch.inference_mode():
            out = net(photo)
        assert out.shape == photo.shape
        assert torch.isfinite(out).all()


def test_final_model_is_named_after_epochs_time_and_weights(assets: dict[str, Path], tmp_path: Path) -> None:
    final = _train(assets, tmp_path, max_steps=1, content_weight=2e5, style_weight=3e10)
    assert final.parent == tmp_path
    assert re.fullmatch(r"epoch_1_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_200000\.0_30000000000\.0\.model", final.name)


def test_training_runs_all_epochs_without_max_steps(
    assets: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="neural_style")
    final = _train(assets, tmp_path, epochs=1, batch_size=3, image_size=16)
    # 8 photos, batches of 3: the last batch is the 2 left over, as the example's DataLoader does.
    assert [record.step for record in caplog.records if hasattr(record, "total_loss")] == [1, 2, 3]
    assert final.name.startswith("epoch_1_")


@pytest.mark.slow
def test_same_seed_gives_the_same_weights(assets: dict[str, Path], tmp_path: Path) -> None:
    first = torch.load(_train(assets, tmp_path / "a", max_steps=2, seed=7), weights_only=True)
    second = torch.load(_train(assets, tmp_path / "b", max_steps=2, seed=7), weights_only=True)
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_missing_vgg_weights_say_how_to_get_them(assets: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"pass --vgg-weights PATH.*cannot be downloaded here"):
        _train({**assets, "vgg": tmp_path / "absent.pth"}, tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_vgg_weights_in_another_layout_are_refused(assets: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, other)
    with pytest.raises(NeuralStyleError, match=r"not VGG16 weights in torchvision's layout"):
        _train({**assets, "vgg": other}, tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_missing_dataset_folder_is_a_clear_error(assets: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="dataset folder not found"):
        _train({**assets, "photos": tmp_path / "nowhere"}, tmp_path / "models")


def test_dataset_without_images_is_a_clear_error(assets: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "photos" / "cats").mkdir(parents=True)
    (tmp_path / "photos" / "cats" / "notes.txt").write_text("no pictures here")
    with pytest.raises(NeuralStyleError, match="no images found"):
        _train({**assets, "photos": tmp_path / "photos"}, tmp_path / "models")


def test_dataset_lists_images_recursively_in_sorted_order(tmp_path: Path) -> None:
    for name in [
        "b/2.PNG",
        "a/9.jpg",
        "a/10.jpeg",
        "top.webp",
        "a/.hidden.jpg",
        "a/readme.md",
        ".cache/x.png",
    ]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    names = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert names == ["a/10.jpeg", "a/9.jpg", "b/2.PNG", "top.webp"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error(assets: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(NeuralStyleError, match=r"CUDA GPU was requested.*--cuda 0"):
        _train(assets, tmp_path, device="cuda")


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("image_size", 30, "multiple of 4"),
        ("batch_size", 0, "batch_size must be a positive number"),
        ("lr", float("nan"), "lr must be a positive number"),
        ("style_weight", -1.0, "style_weight must be a number, zero or more"),
        ("content_weight", float("inf"), "content_weight must be a number, zero or more"),
        ("max_steps", 0, "max_steps must be a positive number"),
    ],
)
def test_bad_settings_are_refused_before_any_work(
    assets: dict[str, Path], tmp_path: Path, option: str, value: object, message: str
) -> None:
    with pytest.raises(NeuralStyleError, match=message):
        _train(assets, tmp_path / "models", **{option: value})
    assert not (tmp_path / "models").exists()


def test_gram_matrix_is_normalized_by_channels_and_pixels() -> None:
    features = torch.ones(2, 4, 3, 5)
    gram = gram_matrix(features)
    assert gram.shape == (2, 4, 4)
    # each entry sums h*w = 15 products of ones, divided by c*h*w = 60
    assert torch.allclose(gram, torch.full((2, 4, 4), 0.25))


def test_photos_are_resized_by_shorter_side_then_center_cropped() -> None:
    image = Image.new("RGB", (80, 40), "black")
    image.paste((255, 0, 0), (30, 0, 50, 40))  # a red band in the middle fifth... of the width
    cropped = resize_center_crop(image, 20)
    assert cropped.size == (20, 20)
    pixels = np.asarray(cropped)
    # scaled to 40x20 the band spans x 15..25; the crop keeps x 10..30, so the band sits at 5..15.
    assert pixels[10, 10].tolist() == [255, 0, 0]
    assert pixels[10, 1].tolist() == [0, 0, 0]


@pytest.mark.slow
def test_a_second_run_never_overwrites_the_first_model(
    assets: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pin the name so both runs collide as two runs finishing within the same second would.
    monkeypatch.setattr("neural_style.train._model_name", lambda *_: "style.model")
    first = _train(assets, tmp_path, max_steps=1, seed=1)
    second = _train(assets, tmp_path, max_steps=1, seed=2)
    assert (first.name, second.name) == ("style.model", "style_2.model")
    assert not torch.equal(
        torch.load(first, weights_only=True)["conv1.conv2d.weight"],
        torch.load(second, weights_only=True)["conv1.conv2d.weight"],
    )


def test_missing_style_image_is_a_clear_error(assets: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.jpg"):
        _train({**assets, "style": tmp_path / "absent.jpg"}, tmp_path / "models")
    assert not (tmp_path / "models").exists()


def test_style_image_too_small_for_vgg_is_refused(assets: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(NeuralStyleError, match=r"style image is 8x8; it needs at least 16 pixels a side"):
        _train(assets, tmp_path / "models", style_size=8)


def test_corrupt_photo_stops_training_naming_the_file(assets: dict[str, Path], tmp_path: Path) -> None:
    photos = tmp_path / "photos" / "all"
    photos.mkdir(parents=True)
    for index, source in enumerate(list_images(assets["photos"])[:2]):
        (photos / f"{index}.png").write_bytes(source.read_bytes())
    (photos / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(NeuralStyleError, match=r"2\.png"):
        _train({**assets, "photos": tmp_path / "photos"}, tmp_path / "models", batch_size=1)
    assert list((tmp_path / "models").iterdir()) == []


@pytest.mark.slow
def test_command_line_trains_a_model_that_eval_loads(assets: dict[str, Path], tmp_path: Path) -> None:
    from neural_style.cli import main

    argv = ["train", "--dataset", str(assets["photos"]), "--style-image", str(assets["style"])]
    argv += ["--save-model-dir", str(tmp_path / "models"), "--vgg-weights", str(assets["vgg"])]
    argv += ["--image-size", "32", "--batch-size", "4", "--epochs", "1", "--log-interval", "1"]
    assert main(argv) == 0
    (model,) = (tmp_path / "models").iterdir()
    assert model.name.startswith("epoch_1_")
    assert main(["eval", "--content-image", str(next(assets["photos"].rglob("*.png"))), "--model", str(model),
                 "--output-image", str(tmp_path / "out.png"), "--cuda", "0"]) == 0  # fmt: skip
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (SIZE + 8, SIZE)


def test_command_line_reports_missing_vgg_weights_in_one_line(
    assets: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from neural_style.cli import main

    argv = ["train", "--dataset", str(assets["photos"]), "--style-image", str(assets["style"])]
    argv += ["--save-model-dir", str(tmp_path / "models"), "--vgg-weights", str(tmp_path / "vgg16.pth")]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "pass --vgg-weights PATH" in err
    assert "Traceback" not in err


def test_diverging_loss_stops_training_without_saving_a_broken_model(
    assets: dict[str, Path], tmp_path: Path
) -> None:
    # VGG weights so large that float32 activations overflow: the loss is inf/NaN from the first step.
    huge = {key: value * 1e20 for key, value in torch.load(assets["vgg"], weights_only=True).items()}
    torch.save(huge, tmp_path / "huge.pth")
    with pytest.raises(NeuralStyleError, match=r"loss became (inf|nan) at step 1; lower --lr"):
        _train({**assets, "vgg": tmp_path / "huge.pth"}, tmp_path / "models", max_steps=3)
    assert list((tmp_path / "models").iterdir()) == []


def test_losses_are_the_examples_formulas(assets: dict[str, Path]) -> None:
    vgg = load_vgg16(assets["vgg"])
    generator = torch.Generator().manual_seed(3)
    photos, stylized = (torch.rand(2, 3, SIZE, SIZE, generator=generator) * 255 for _ in range(2))
    style = torch.rand(1, 3, 24, 40, generator=generator) * 255

    def normalized(batch: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        return (batch / 255 - mean) / std

    def gram(f: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nchw,ndhw->ncd", f, f) / f[0].numel()

    with torch.no_grad():
        got_content, got_style = PerceptualLoss(vgg, style, 1e5, 1e10)(stylized, photos)
        ys, xs, ss = vgg(normalized(stylized)), vgg(normalized(photos)), vgg(normalized(style))
    want_content = 1e5 * ((ys.relu2_2 - xs.relu2_2) ** 2).mean()
    want_style = 1e10 * sum(((gram(y) - gram(s)) ** 2).mean() for y, s in zip(ys, ss, strict=True))
    # The example's weights bring both losses to order 1..1000 here, so relative tolerance is meaningful.
    assert 1 < want_content.item() < 1e4
    assert 1 < want_style.item() < 1e4
    torch.testing.assert_close(got_content, want_content, rtol=1e-4, atol=0)
    torch.testing.assert_close(got_style, want_style, rtol=1e-4, atol=0)
