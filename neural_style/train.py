"""Train a TransformerNet for one style with perceptual losses, as PyTorch's fast_neural_style example does.

Content loss: MSE between VGG16 relu2_2 of the stylized batch and of the photos. Style loss: MSE between
Gram matrices (normalized by c*h*w) of the stylized batch and of the style image at relu1_2, relu2_2,
relu3_3 and relu4_3. Both are taken on ImageNet-normalized inputs and optimized with Adam (Johnson et al.,
2016). Checkpoints use the published plain-state_dict format, so ``eval`` and the engine load them.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from .errors import NeuralStyleError
from .hardware import resolve_device
from .image import load_image
from .torch.model import TransformerNet, save_checkpoint
from .vgg import Vgg16, load_vgg16

log = logging.getLogger(__name__)

# torchvision's ImageFolder extensions, compared case-insensitively.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"})
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Three 2x2 poolings before relu4_3 and two stride-2 convs in TransformerNet: smaller inputs break one or
# the other, and sides that are not multiples of 4 come back from TransformerNet with a different size.
_MIN_SIDE = 16


def list_images(root: str | os.PathLike[str]) -> list[Path]:
    """Return every image file under ``root`` (recursively, following links), sorted by relative path.

    Accepts an ImageFolder-style tree (class subfolders) or a flat folder; hidden files (``._x.jpg``
    resource forks) are skipped. Raises ``FileNotFoundError``/``NeuralStyleError`` when there is nothing.
    """
    top = Path(root)
    if not top.is_dir():
        msg = f"{top}: dataset folder not found; pass --dataset DIR with images (or class subfolders of them)"
        raise FileNotFoundError(msg)
    found: list[Path] = []
    for folder, dirs, files in os.walk(top, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [
            Path(folder, name)
            for name in files
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES
        ]
    if not found:
        suffixes = " ".join(sorted(IMAGE_SUFFIXES))
        msg = f"{top}: no images found (looked recursively for {suffixes})"
        raise NeuralStyleError(msg)
    return sorted(found, key=lambda p: p.relative_to(top).parts)


def resize_center_crop(image: Image.Image, size: int) -> Image.Image:
    """Scale the shorter side to ``size`` (bilinear, antialiased) and cut the central ``size`` square."""
    width, height = image.size
    scale = size / min(width, height)
    new_w, new_h = max(size, int(width * scale)), max(size, int(height * scale))
    if (new_w, new_h) != (width, height):
        image = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left, top = round((new_w - size) / 2), round((new_h - size) / 2)
    return image.crop((left, top, left + size, top + size))


def to_tensor_255(image: Image.Image) -> torch.Tensor:
    """Return an RGB image as a float32 ``[3, h, w]`` tensor in 0..255, the range TransformerNet expects."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32)
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


class ImageDataset(Dataset[torch.Tensor]):
    """Photos under a folder, each resized and center-cropped to a ``size`` square, as 0..255 tensors."""

    def __init__(self, paths: Sequence[Path], size: int) -> None:
        self.paths = list(paths)
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return to_tensor_255(resize_center_crop(load_image(self.paths[index]), self.size))


def normalize_batch(batch: torch.Tensor) -> torch.Tensor:
    """Map a 0..255 RGB batch to ImageNet mean/std normalized values, the input VGG16 was trained on."""
    mean = batch.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = batch.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (batch / 255.0 - mean) / std


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Return the ``[n, c, c]`` Gram matrices of ``[n, c, h, w]`` features, divided by ``c*h*w``."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def load_style_image(path: str | os.PathLike[str], size: int | None) -> torch.Tensor:
    """Return the style image as a ``[1, 3, h, w]`` 0..255 tensor, squashed to ``size`` x ``size`` if given.

    The square resize (not aspect-preserving) is what the example's ``--style-size`` does.
    """
    image = load_image(path)
    if size is not None:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    if min(image.size) < _MIN_SIDE:
        side = _MIN_SIDE
        msg = f"{path}: style image is {image.width}x{image.height}; it needs at least {side} pixels a side"
        raise NeuralStyleError(msg)
    return to_tensor_255(image).unsqueeze(0)


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's generators so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class PerceptualLoss(nn.Module):
    """Weighted content + style loss of a stylized batch against its photos and one style image."""

    def __init__(self, vgg: Vgg16, style: torch.Tensor, content_weight: float, style_weight: float) -> None:
        super().__init__()
        self.vgg = vgg
        self.content_weight = content_weight
        self.style_weight = style_weight
        with torch.no_grad():
            grams = [gram_matrix(f) for f in vgg(normalize_batch(style))]
        self.style_grams = grams

    def forward(self, stylized: torch.Tensor, photos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(content_loss, style_loss)``, each already multiplied by its weight."""
        with torch.no_grad():
            target = self.vgg.relu2_2(normalize_batch(photos))
        features = self.vgg(normalize_batch(stylized))
        content = self.content_weight * F.mse_loss(features.relu2_2, target)
        style = sum(
            (
                F.mse_loss(gram_matrix(f), g.expand(f.shape[0], -1, -1))
                for f, g in zip(features, self.style_grams, strict=True)
            ),
            start=torch.zeros((), device=stylized.device),
        )
        return content, self.style_weight * style


def _require_positive(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not 0 < value < math.inf:  # also refuses NaN
            msg = f"{name} must be a positive number, got {value!r}"
            raise NeuralStyleError(msg)


def _require_non_negative(**values: float) -> None:
    for name, value in values.items():
        if not 0 <= value < math.inf:
            msg = f"{name} must be a number, zero or more, got {value!r}"
            raise NeuralStyleError(msg)


def _require_image_size(image_size: int) -> None:
    if image_size % 4 or image_size < _MIN_SIDE:
        msg = f"image_size must be a multiple of 4 and at least {_MIN_SIDE}, got {image_size}"
        raise NeuralStyleError(msg)


class _LossWindow:
    """Mean losses over the steps since the last log line (the example averages since the epoch began)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.content = self.style = 0.0
        self.steps = 0

    def add(self, content: float, style: float) -> None:
        self.content += content
        self.style += style
        self.steps += 1

    def log(self, step: int, epoch: int, seen: int, total: int) -> None:
        content, style = self.content / self.steps, self.style / self.steps
        # The numbers also ride on the record (``extra``) so callers and tests need not parse text.
        log.info(
            "epoch %d [%d/%d] step %d: content %.6f style %.6f total %.6f",
            epoch + 1, seen, total, step, content, style, content + style,
            extra={"step": step, "content_loss": content, "style_loss": style, "total_loss": content + style},
        )  # fmt: skip
        self.reset()


def _finite(loss: float, name: str, step: int) -> float:
    if not math.isfinite(loss):
        # Saving would publish a model of NaNs; earlier checkpoints stay as they are.
        msg = f"the {name} loss became {loss} at step {step}; lower --lr or the loss weights and train again"
        raise NeuralStyleError(msg)
    return loss


def _batches(loader: DataLoader[torch.Tensor], device: torch.device) -> Iterator[torch.Tensor]:
    for batch in loader:
        yield batch.to(device, non_blocking=True)


def _unused(path: Path) -> Path:
    # Two runs finishing in the same second must not overwrite each other's model.
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
    return candidate


def _model_name(epochs: int, content_weight: float, style_weight: float) -> str:
    # The example's name (epochs, time, weights) without the spaces and colons of time.ctime().
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S")
    return f"epoch_{epochs}_{stamp}_{float(content_weight)}_{float(style_weight)}.model"


def train(
    dataset: str | os.PathLike[str],
    style_image: str | os.PathLike[str],
    save_model_dir: str | os.PathLike[str],
    *,
    vgg_weights: str | os.PathLike[str],
    epochs: int = 2,
    batch_size: int = 4,
    image_size: int = 256,
    style_size: int | None = None,
    device: str | torch.device = "cpu",
    seed: int = 42,
    content_weight: float = 1e5,
    style_weight: float = 1e10,
    lr: float = 1e-3,
    log_interval: int = 500,
    checkpoint_model_dir: str | os.PathLike[str] | None = None,
    checkpoint_interval: int = 2000,
    max_steps: int | None = None,
) -> Path:
    """Train a TransformerNet on the photos under ``dataset`` to paint like ``style_image``; return its path.

    Photos are resized and center-cropped to ``image_size``; batches run in sorted file order. Every
    ``log_interval`` steps the mean losses since the last report are logged; every
    ``checkpoint_interval`` steps a ``ckpt_epoch_E_batch_id_B.pth`` goes to ``checkpoint_model_dir`` (if
    given). The final model is saved in ``save_model_dir`` as
    ``epoch_N_<time>_<content_weight>_<style_weight>.model``. ``max_steps`` stops early. Every file is
    written atomically in the published plain-state_dict format; a loss that turns NaN/inf stops training.
    """
    _require_positive(
        epochs=epochs, batch_size=batch_size, image_size=image_size, style_size=style_size, lr=lr,
        log_interval=log_interval, checkpoint_interval=checkpoint_interval, max_steps=max_steps,
    )  # fmt: skip
    _require_non_negative(content_weight=content_weight, style_weight=style_weight)
    _require_image_size(image_size)
    target = resolve_device(device)
    paths = list_images(dataset)
    vgg = load_vgg16(vgg_weights, device=target)
    style = load_style_image(style_image, style_size).to(target)
    out_dir = Path(save_model_dir)
    ckpt_dir = None if checkpoint_model_dir is None else Path(checkpoint_model_dir)
    for folder in (out_dir, ckpt_dir):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    seed_everything(seed)
    loader = DataLoader(
        ImageDataset(paths, image_size), batch_size=batch_size, pin_memory=target.type == "cuda"
    )
    net = TransformerNet().to(target).train()
    loss_fn = PerceptualLoss(vgg, style, content_weight, style_weight)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    log.info("training on %d images, %d batches an epoch, device %s", len(paths), len(loader), target)

    step, epoch = 0, 0
    window = _LossWindow()
    for epoch in range(epochs):
        for batch_id, photos in enumerate(_batches(loader, target)):
            optimizer.zero_grad(set_to_none=True)
            content, style_loss = loss_fn(net(photos), photos)
            (content + style_loss).backward()
            optimizer.step()
            step += 1
            window.add(_finite(content.item(), "content", step), _finite(style_loss.item(), "style", step))
            if step % log_interval == 0:
                window.log(step, epoch, min((batch_id + 1) * batch_size, len(paths)), len(paths))
            if ckpt_dir is not None and step % checkpoint_interval == 0:
                save_checkpoint(net, ckpt_dir / f"ckpt_epoch_{epoch}_batch_id_{batch_id + 1}.pth")
            if max_steps is not None and step >= max_steps:
                break
        if max_steps is not None and step >= max_steps:
            log.info("stopping after max_steps=%d", max_steps)
            break

    final = _unused(out_dir / _model_name(epoch + 1, content_weight, style_weight))
    save_checkpoint(net, final)
    return final
