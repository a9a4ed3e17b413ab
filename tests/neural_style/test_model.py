"""TransformerNet checkpoints: the published layout loads, ours round-trips, bad files are refused."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from neural_style.errors import NeuralStyleError
from neural_style.torch.model import TransformerNet, load_transformer, save_checkpoint


def test_state_dict_has_the_published_names_and_shapes():
    state = TransformerNet().state_dict()
    assert len(state) == 62
    assert sum(t.numel() for t in state.values()) == 1_679_235
    assert state["conv1.conv2d.weight"].shape == (32, 3, 9, 9)
    assert state["conv2.conv2d.weight"].shape == (64, 32, 3, 3)
    assert state["conv3.conv2d.weight"].shape == (128, 64, 3, 3)
    assert state["res3.conv2.conv2d.weight"].shape == (128, 128, 3, 3)
    assert state["res5.in2.bias"].shape == (128,)
    assert state["deconv1.conv2d.weight"].shape == (64, 128, 3, 3)
    assert state["deconv2.conv2d.weight"].shape == (32, 64, 3, 3)
    assert state["deconv3.conv2d.weight"].shape == (3, 32, 9, 9)
    assert state["in5.weight"].shape == (32,)


def test_output_sides_round_up_to_multiples_of_four():
    out = TransformerNet()(torch.rand(1, 3, 33, 50) * 255)
    assert out.shape == (1, 3, 36, 52)


def test_published_checkpoint_with_running_stats_loads(published_checkpoint, weights):
    net = load_transformer(published_checkpoint)
    assert not net.training
    for name, tensor in net.state_dict().items():
        torch.testing.assert_close(tensor, weights[name], rtol=0, atol=0)


def test_saved_checkpoint_is_a_plain_state_dict_that_round_trips(tmp_path, weights):
    path = save_checkpoint(weights, tmp_path / "style.pth")
    state = torch.load(path, weights_only=True)
    assert set(state) == set(weights)
    assert all(type(t) is torch.Tensor and t.dtype == torch.float32 for t in state.values())
    net = load_transformer(path)
    torch.testing.assert_close(
        net.state_dict()["res1.conv1.conv2d.weight"], weights["res1.conv1.conv2d.weight"]
    )


def test_save_checkpoint_accepts_a_network_and_replaces_the_file_leaving_no_temp(tmp_path, weights):
    path = tmp_path / "style.model"
    save_checkpoint(TransformerNet(), path)
    net = TransformerNet()
    net.load_state_dict(weights)
    save_checkpoint(net, path)
    assert [p.name for p in tmp_path.iterdir()] == ["style.model"]
    torch.testing.assert_close(load_transformer(path).state_dict()["in1.bias"], weights["in1.bias"])


def test_save_checkpoint_refuses_weights_of_another_network(tmp_path):
    with pytest.raises(NeuralStyleError, match="missing"):
        save_checkpoint({"fc.weight": torch.zeros(2, 2)}, tmp_path / "bad.pth")
    assert list(tmp_path.iterdir()) == []


def test_missing_model_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.pth"):
        load_transformer(tmp_path / "nowhere.pth")


@pytest.mark.parametrize("content", [b"", b"hello, I am text\n", b"PK\x03\x04broken zip", bytes(range(256))])
def test_file_that_is_not_a_checkpoint_is_refused(tmp_path, content):
    path = tmp_path / "notes.pth"
    path.write_bytes(content)
    with pytest.raises(NeuralStyleError, match=r"notes\.pth"):
        load_transformer(path)


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_checkpoint_that_tries_to_run_code_is_refused_and_nothing_runs(tmp_path, weights):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({**weights, "payload": _RunsCode(marker)}, path)
    with pytest.raises(NeuralStyleError, match="refused"):
        load_transformer(path)
    assert not marker.exists()


def test_checkpoint_holding_something_else_than_weights_is_refused(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(NeuralStyleError, match="not weights"):
        load_transformer(path)


def test_checkpoint_missing_a_weight_names_it(tmp_path, weights):
    path = tmp_path / "partial.pth"
    torch.save({k: v for k, v in weights.items() if k != "res2.in1.bias"}, path)
    with pytest.raises(NeuralStyleError, match=r"missing res2\.in1\.bias"):
        load_transformer(path)


def test_checkpoint_with_an_extra_weight_names_it(tmp_path, weights):
    path = tmp_path / "extra.pth"
    torch.save({**weights, "head.weight": torch.zeros(3)}, path)
    with pytest.raises(NeuralStyleError, match=r"unexpected head\.weight"):
        load_transformer(path)


def test_checkpoint_with_a_misshaped_weight_names_it(tmp_path, weights):
    path = tmp_path / "shape.pth"
    torch.save({**weights, "deconv3.conv2d.weight": torch.zeros(3, 32, 3, 3)}, path)
    with pytest.raises(NeuralStyleError, match=r"deconv3\.conv2d\.weight has shape \(3, 32, 3, 3\)"):
        load_transformer(path)


def test_a_raw_pickle_is_not_called_code_it_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "raw.pth"
    path.write_bytes(pickle.dumps({"conv1.conv2d.weight": [1.0]}, protocol=4))
    with pytest.raises(NeuralStyleError, match=r"raw\.pth is not a PyTorch checkpoint") as caught:
        load_transformer(path)
    assert "run code" not in str(caught.value)
