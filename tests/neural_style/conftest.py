"""Checkpoints and photos for the neural_style tests, generated here (nothing is read from the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from neural_style.torch.model import TransformerNet


def random_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """TransformerNet weights that make every layer matter (affine norms far from 1/0)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, tensor in TransformerNet().state_dict().items():
        if ".in" in f".{name}" and name.endswith("weight"):
            state[name] = 0.5 + torch.rand(tensor.shape, generator=generator)
        elif name.endswith("bias"):
            state[name] = 0.2 * torch.randn(tensor.shape, generator=generator)
        else:
            fan_in = tensor[0].numel()
            state[name] = torch.randn(tensor.shape, generator=generator) / fan_in**0.5
    # Spread the output over 0..255 like a trained model's, so that clamping hides nothing.
    state["deconv3.conv2d.weight"] *= 60
    state["deconv3.conv2d.bias"] += 128
    return state


def with_legacy_running_stats(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Add the InstanceNorm running statistics that the published 2017 checkpoints carry."""
    legacy = dict(state)
    for name, tensor in state.items():
        prefix, _, leaf = name.rpartition(".")
        if leaf == "weight" and prefix.split(".")[-1].startswith("in"):
            legacy[f"{prefix}.running_mean"] = torch.zeros_like(tensor)
            legacy[f"{prefix}.running_var"] = torch.ones_like(tensor)
    return legacy


@pytest.fixture(scope="session")
def weights() -> dict[str, torch.Tensor]:
    return random_state_dict()


@pytest.fixture(scope="session")
def published_checkpoint(tmp_path_factory: pytest.TempPathFactory, weights: dict[str, torch.Tensor]) -> Path:
    """A checkpoint as the example's download ships it: legacy (non-zip) pickle with running stats."""
    path = tmp_path_factory.mktemp("models") / "published.pth"
    torch.save(with_legacy_running_stats(weights), path, _use_new_zipfile_serialization=False)
    return path
