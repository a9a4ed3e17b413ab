"""VGG16 loads torchvision's state_dict layout from a local file, frozen, and taps the right layers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from neural_style.errors import NeuralStyleError
from neural_style.vgg import Vgg16, load_vgg16

HINT = r"pass --vgg-weights PATH, e.g. torchvision's vgg16-397923af.pth; they cannot be downloaded here"
# torchvision's vgg16().features: the conv indices and their (out, in) channels.
TORCHVISION_CONVS = {
    0: (64, 3), 2: (64, 64), 5: (128, 64), 7: (128, 128), 10: (256, 128), 12: (256, 256), 14: (256, 256),
    17: (512, 256), 19: (512, 512), 21: (512, 512), 24: (512, 512), 26: (512, 512), 28: (512, 512),
}  # fmt: skip


class NotWeights:
    """Pickling this needs code that weights_only loading must refuse."""


@pytest.fixture(scope="module")
def torchvision_state() -> dict[str, torch.Tensor]:
    """Random weights laid out exactly as torchvision names them, written independently of Vgg16."""
    generator = torch.Generator().manual_seed(1)
    state: dict[str, torch.Tensor] = {}
    for index, (out, inp) in TORCHVISION_CONVS.items():
        state[f"features.{index}.weight"] = (
            torch.randn(out, inp, 3, 3, generator=generator) * (2 / (9 * inp)) ** 0.5
        )
        state[f"features.{index}.bias"] = torch.randn(out, generator=generator) * 0.01
    state["classifier.6.bias"] = torch.zeros(1000)
    return state


@pytest.fixture(scope="module")
def weights_file(
    tmp_path_factory: pytest.TempPathFactory, torchvision_state: dict[str, torch.Tensor]
) -> Path:
    path = tmp_path_factory.mktemp("vgg") / "vgg16-397923af.pth"
    torch.save(torchvision_state, path)
    return path


def _by_hand(x: torch.Tensor, state: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """relu1_2, relu2_2, relu3_3, relu4_3 computed straight from the named weights."""
    taps = []
    for block in ([0, 2], [5, 7], [10, 12, 14], [17, 19, 21]):
        if taps:
            x = F.max_pool2d(x, 2)
        for index in block:
            x = F.relu(
                F.conv2d(x, state[f"features.{index}.weight"], state[f"features.{index}.bias"], padding=1)
            )
        taps.append(x)
    return taps


def test_state_dict_keys_are_torchvisions_features(torchvision_state: dict[str, torch.Tensor]) -> None:
    ours = Vgg16().state_dict()
    theirs = {k: v.shape for k, v in torchvision_state.items() if k.startswith("features.")}
    assert {k: v.shape for k, v in ours.items()} == theirs


def test_features_are_the_four_relus_torchvision_indexes(
    weights_file: Path, torchvision_state: dict[str, torch.Tensor]
) -> None:
    vgg = load_vgg16(weights_file)
    x = torch.randn(2, 3, 32, 24)
    with torch.no_grad():
        features = vgg(x)
    assert [tuple(f.shape) for f in features] == [
        (2, 64, 32, 24),
        (2, 128, 16, 12),
        (2, 256, 8, 6),
        (2, 512, 4, 3),
    ]
    for got, want in zip(features, _by_hand(x, torchvision_state), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(vgg.relu2_2(x), features.relu2_2)


def test_loaded_network_is_frozen_and_in_eval_mode(weights_file: Path) -> None:
    vgg = load_vgg16(weights_file)
    assert not vgg.training
    assert not any(p.requires_grad for p in vgg.parameters())


def test_missing_file_says_how_to_get_the_weights(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=HINT):
        load_vgg16(tmp_path / "vgg16-397923af.pth")


def test_file_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vgg16.pth"
    path.write_bytes(b"definitely not a zip of tensors")
    with pytest.raises(NeuralStyleError, match="not a PyTorch weights file"):
        load_vgg16(path)


def test_pickle_that_needs_code_is_refused_without_running_it(tmp_path: Path) -> None:
    path = tmp_path / "vgg16.pth"
    torch.save({"features.0.weight": NotWeights()}, path)
    with pytest.raises(
        NeuralStyleError, match="was refused: not a PyTorch weights file, or one that would run code"
    ):
        load_vgg16(path)


def test_batch_norm_variant_is_refused(tmp_path: Path, torchvision_state: dict[str, torch.Tensor]) -> None:
    path = tmp_path / "vgg16_bn.pth"
    torch.save({**torchvision_state, "features.1.running_mean": torch.zeros(64)}, path)
    with pytest.raises(
        NeuralStyleError, match=r"torchvision's layout \(unexpected \['features.1.running_mean'\]\)"
    ):
        load_vgg16(path)


def test_mis_shaped_weight_is_refused(tmp_path: Path, torchvision_state: dict[str, torch.Tensor]) -> None:
    path = tmp_path / "vgg16.pth"
    torch.save({**torchvision_state, "features.28.weight": torch.zeros(512, 512, 1, 1)}, path)
    with pytest.raises(NeuralStyleError, match=r"features\.28\.weight has shape \(512, 512, 1, 1\)"):
        load_vgg16(path)


def test_something_other_than_a_state_dict_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vgg16.pth"
    torch.save([torch.zeros(3)], path)
    with pytest.raises(NeuralStyleError, match="expected a VGG16 state_dict, got list"):
        load_vgg16(path)
