"""Device choice: "cpu" or "cuda" from the name alone; a GPU this machine lacks is a clear error."""

from __future__ import annotations

import pytest
import torch

from neural_style.device import device_kind, resolve_device
from neural_style.errors import UsageError


@pytest.mark.parametrize(
    ("name", "kind"), [("cpu", "cpu"), ("cpu:0", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda")]
)
def test_device_kind_reads_the_name(name, kind):
    assert device_kind(name) == kind


def test_device_kind_accepts_a_torch_device():
    assert device_kind(torch.device("cpu")) == "cpu"


@pytest.mark.parametrize("name", ["tpu", "mps", "cuda:x", "cuda:", ""])
def test_other_devices_are_a_usage_error(name):
    with pytest.raises(UsageError, match="use 'cpu' or 'cuda'"):
        device_kind(name)


def test_resolve_device_refuses_a_missing_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UsageError, match="--cuda 0"):
        resolve_device("cuda")


def test_resolve_device_returns_a_torch_device():
    assert resolve_device("cpu") == torch.device("cpu")
