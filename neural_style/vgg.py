"""VGG16 features for the perceptual losses, with torchvision's ImageNet weights read from a local file.

The layer list mirrors torchvision's ``vgg16().features`` index for index, so its state_dict
(``features.0.weight`` ... ``features.28.bias``) loads unchanged; the classifier is not needed.
Weights are never downloaded: training passes the file in (Johnson et al., 2016, "Perceptual Losses
for Real-Time Style Transfer and Super-Resolution").
"""

from __future__ import annotations

import logging
import os
import pickle
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from .errors import NeuralStyleError

log = logging.getLogger(__name__)

# torchvision's configuration "D": output channels per conv, "M" for a 2x2 max-pool.
_VGG16_LAYOUT: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip
# Index in ``features`` of the ReLU that ends each block the losses read.
_TAPS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}

MISSING_WEIGHTS_HINT = (
    "training needs VGG16 ImageNet weights; pass --vgg-weights PATH, e.g. torchvision's "
    "vgg16-397923af.pth; they cannot be downloaded here"
)


class VggFeatures(NamedTuple):
    """Activations of the four layers the perceptual losses compare."""

    relu1_2: torch.Tensor
    relu2_2: torch.Tensor
    relu3_3: torch.Tensor
    relu4_3: torch.Tensor


def _features() -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for item in _VGG16_LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            out = int(item)
            layers += [nn.Conv2d(channels, out, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = out
    return nn.Sequential(*layers)


class Vgg16(nn.Module):
    """VGG16 convolutional trunk returning relu1_2, relu2_2, relu3_3 and relu4_3.

    Inputs are ImageNet-normalized RGB batches ``[n, 3, h, w]``. The layers after relu4_3 exist only so
    torchvision's state_dict loads as it is; they are never run.

    ``Vgg16(requires_grad=False)`` is the example's call. The example downloads ImageNet weights there;
    here they come from ``weights`` (a torchvision-layout file such as ``vgg16-397923af.pth``, read with
    ``weights_only=True``) or not at all: without them the layers keep PyTorch's random initialisation,
    which runs but gives meaningless perceptual losses (a warning is logged). :func:`load_vgg16` is the
    usual way in.
    """

    def __init__(self, requires_grad: bool = False, *, weights: str | os.PathLike[str] | None = None) -> None:
        """Build the trunk; load ``weights`` if given; freeze it unless ``requires_grad``."""
        super().__init__()
        self.features = _features()
        if weights is not None:
            path = Path(weights)
            if not path.is_file():
                msg = f"{path}: no such file; {MISSING_WEIGHTS_HINT}"
                raise FileNotFoundError(msg)
            expected = self.state_dict()
            state = _read_state(path)
            _check_layout(state, expected, path)
            self.load_state_dict({key: state[key] for key in expected})
        else:
            log.warning("Vgg16 built without weights: its layers are random until a state_dict is loaded")
        self.requires_grad_(requires_grad)

    def forward(self, x: torch.Tensor) -> VggFeatures:
        """Return the four tapped activations of ``x``."""
        return VggFeatures(*self._run(x, _TAPS.values()))

    def relu2_2(self, x: torch.Tensor) -> torch.Tensor:
        """Return relu2_2 alone: all the content loss needs, at a fifth of the full cost."""
        (out,) = self._run(x, [_TAPS["relu2_2"]])
        return out

    def _run(self, x: torch.Tensor, taps: Iterable[int]) -> list[torch.Tensor]:
        wanted = set(taps)
        out: list[torch.Tensor] = []
        layer: nn.Module
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                out.append(x)
                if len(out) == len(wanted):
                    break
        return out


def _read_state(path: Path) -> Mapping[str, object]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # weights_only refuses anything but tensors and plain containers (garbage bytes land here too).
        why = "not a PyTorch weights file, or one that would run code"
        msg = f"{path} was refused: {why}; {MISSING_WEIGHTS_HINT}"
        raise NeuralStyleError(msg) from err
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        msg = f"{path} is not a PyTorch weights file (could not read it); {MISSING_WEIGHTS_HINT}"
        raise NeuralStyleError(msg) from err
    if not isinstance(state, Mapping):
        msg = f"{path}: expected a VGG16 state_dict, got {type(state).__name__}; {MISSING_WEIGHTS_HINT}"
        raise NeuralStyleError(msg)
    return state


def _check_layout(state: Mapping[str, object], expected: Mapping[str, torch.Tensor], path: Path) -> None:
    features = {k: v for k, v in state.items() if isinstance(k, str) and k.startswith("features.")}
    missing = sorted(set(expected) - set(features))
    unexpected = sorted(set(features) - set(expected))
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        msg = f"{path}: not VGG16 weights in torchvision's layout ({detail}); {MISSING_WEIGHTS_HINT}"
        raise NeuralStyleError(msg)
    for key, want in expected.items():
        got = features[key]
        if not isinstance(got, torch.Tensor) or not got.is_floating_point() or got.shape != want.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            msg = f"{path}: {key} has shape {shape}, VGG16 needs {tuple(want.shape)}; {MISSING_WEIGHTS_HINT}"
            raise NeuralStyleError(msg)


def load_vgg16(weights_path: str | os.PathLike[str], *, device: str | torch.device = "cpu") -> Vgg16:
    """Return a frozen, eval-mode :class:`Vgg16` with weights from a torchvision-layout state_dict file.

    Raises ``FileNotFoundError`` when the file is missing and ``NeuralStyleError`` when it is not VGG16
    weights; classifier entries in the file are ignored. The file is read with ``weights_only=True``.
    """
    net = Vgg16(requires_grad=False, weights=weights_path)
    log.debug("loaded VGG16 weights from %s", weights_path)
    return net.to(device).eval()
