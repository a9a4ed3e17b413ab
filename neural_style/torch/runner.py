"""The PyTorch runner: a TransformerNet checkpoint on the CPU or a CUDA GPU, in fp32 or bf16."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import torch

from neural_style.hardware import Precision, resolve_device, resolve_precision
from neural_style.stylizer import Stylizer

from .fast import FastTransformerNet
from .heap import keep_freed_memory, return_freed_memory
from .model import TransformerNet, load_transformer
from .threads import cap_threads, threads_left_free

log = logging.getLogger(__name__)

# Above this many pixels a CPU forward pass streams in row strips (bounded memory, same output); below
# it one plain pass is faster. 2.5 MP keeps the plain pass under about 2 GiB of activations.
STREAM_ABOVE_PIXELS = 2_500_000


class TorchStylizer(Stylizer):
    """Runs a TransformerNet in PyTorch; ``precision="auto"`` is bf16 where the CPU has it natively."""

    def __init__(
        self,
        net: TransformerNet,
        *,
        device: str | torch.device = "cpu",
        precision: Precision = "fp32",
        stream_above_pixels: int = STREAM_ABOVE_PIXELS,
    ) -> None:
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, device="cuda" if self.device.type == "cuda" else "cpu")
        self.stream_above_pixels = stream_above_pixels
        self.threads = torch.get_num_threads()  # as the loader set it; fewer while other processes are busy
        self.net = net.eval().requires_grad_(False).to(self.device)
        # The same network rewritten for speed (channels_last, fused norms, folded upsampling); see fast.py.
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        self.fast = FastTransformerNet(self.net, dtype=dtype).to(self.device)

    def stylize_array(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize ``[H, W, 3]`` uint8 RGB; very large pictures stream through the network in strips."""
        height, width, _ = rgb.shape
        threads = self.threads if self.device.type == "cpu" else 1
        with torch.inference_mode(), threads_left_free(threads):
            if self.device.type == "cpu" and height * width > self.stream_above_pixels:
                from .strips import stylize_in_strips

                return_freed_memory()  # strips fragment a heap that keeps freed memory; see heap.py
                return stylize_in_strips(self.fast, rgb)
            if self.device.type == "cpu":
                keep_freed_memory()  # no page faults for every layer's fresh map; see heap.py
            if not rgb.flags.writeable:
                rgb = rgb.copy()
            batch = torch.from_numpy(rgb).to(self.device).permute(2, 0, 1).unsqueeze(0)  # bytes: see FastConv
            with true_fp32(self.device, self.precision):
                picture = self.fast.picture(batch)
            return picture.cpu().numpy()


def true_fp32(device: torch.device, precision: str) -> AbstractContextManager[object]:
    """On a CUDA GPU in fp32, turn off TF32 for the convolutions while they run.

    cuDNN computes fp32 convolutions in TF32 by default on Ampere and later GPUs (10-bit mantissas):
    on an H200 that put the 26-style network's picture up to 2 levels off the CPU's, on 3.6% of values.
    """
    if device.type != "cuda" or precision != "fp32":
        return nullcontext()
    return torch.backends.cudnn.flags(enabled=True, allow_tf32=False)


def load_checkpoint(
    source: Path,
    *,
    device: str | torch.device = "cpu",
    precision: Precision = "auto",
    threads: int | None = None,
) -> TorchStylizer:
    """Load a TransformerNet checkpoint (``weights_only``) as a stylizer; ``threads`` caps torch's pool."""
    net = load_transformer(source)
    cap_threads(threads)
    stylizer = TorchStylizer(net, device=device, precision=precision)
    log.info("loaded %s on %s (%s)", source, stylizer.device, stylizer.precision)
    return stylizer
