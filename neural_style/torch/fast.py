"""A faster, numerically equivalent inference form of TransformerNet for the CPU.

Rewrites, each exact up to float rounding (the tests compare against a plain implementation):

* every activation stays in channels_last (NHWC), the layout oneDNN convolutions want on CPU; the stock
  InstanceNorm returns NCHW and forces a layout conversion around every convolution;
* "nearest 2x upsample, reflection pad 1, 3x3 conv" becomes a 2x2 convolution of the small map (edge
  padded) with four phase kernels. Each output pixel of the original sees only two distinct input rows
  and two distinct columns, so its 3x3 kernel folds into 2x2. This cuts the two upsampling layers'
  multiply-adds by 9/4 (TransformerNet: 154k -> 133k per pixel) and skips materialising the upsampled
  map;
* the last 9x9 convolution to 3 channels runs on the 2x2 space-to-depth form of its input, as a 5x5
  convolution to 12 channels, a shape oneDNN runs much faster;
* in fp32, one image at a time, an InstanceNorm costs one statistics pass and one pass over its map:
  - InstanceNorm + ReLU before a convolution is a per-channel clip in place; the norm's affine goes
    into that convolution's weights (``FastNorm.clip``, ``fold_input_affine``);
  - the residual blocks add their update in one pass, leaving out per-channel constants that the
    next InstanceNorm removes anyway;
  - the upsampling layers' phase maps go through one strided gather (the clip) straight into the
    buffer the next convolution reads: the interleaved, edge-padded map for the second upsampling
    layer, and the space-to-depth map for the last layer.

In the bf16 form (the engine's opt-in fast path) every layer but the first runs in bf16, with the norms
as channels_last batch_norm (one image: its statistics are the batch's) and an in-place ReLU.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import nn
from torch.nn import functional as F

from .folding import (
    PHASES,
    Affine,
    fold_input_affine,
    phase_block_order,
    phase_kernels,
    space_to_depth_kernels,
)
from .int8 import PhotoConv, int8_convolutions_exact
from .model import ConvLayer, ResidualBlock, TransformerNet, UpsampleConvLayer
from .statistics import channel_stats, image_stats, phase_stats, space_to_depth_stats
from .views import (
    depth_to_space,
    interleaved_grid,
    phases_grid,
    reflection_padded,
    space_to_depth_grid,
)

# Maps of fewer pixels are reflection-padded by a copy: there the four border corrections' small
# convolutions cost more than copying the map (about 0.3 ms against 0.05 at 128x109, 32 channels).
PAD_BY_COPY_BELOW_PIXELS = 32_768

# Names tests and benches import from here; the folds, statistics and views have modules of their own.
__all__ = [
    "FastConv",
    "FastNorm",
    "FastResidual",
    "FastTransformerNet",
    "PhaseUpConv",
    "SpaceToDepthConv",
    "fold_input_affine",
    "image_stats",
    "interleaved_grid",
    "phase_kernels",
    "phases_grid",
    "space_to_depth_grid",
    "space_to_depth_kernels",
    "to_uint8",
]


class FastConv(nn.Module):
    """Reflection padding and a convolution, as :class:`ConvLayer`, on channels_last tensors.

    The first layer (``photo=True``) also takes a photo's bytes (uint8 0..255): on a CPU whose int8
    kernels are exact it then runs as :class:`~neural_style.torch.int8.PhotoConv`, elsewhere on floats.
    """

    def __init__(self, layer: ConvLayer, *, full_precision: bool = False, photo: bool = False) -> None:
        super().__init__()
        self.pad = layer.pad
        self.stride = layer.conv2d.stride
        self.full_precision = full_precision
        self.weight = nn.Parameter(_nhwc(layer.conv2d.weight), requires_grad=False)
        self.bias = nn.Parameter(_bias(layer.conv2d).clone(), requires_grad=False)
        self.photo: PhotoConv | None = None
        if photo and self.stride == (1, 1) and int8_convolutions_exact():
            self.photo = PhotoConv(layer.conv2d.weight, self.bias)

    def int8_layer_for(self, x: torch.Tensor) -> PhotoConv | None:
        """Return the int8 form of this layer (:class:`PhotoConv`) when it takes ``x``, a photo's bytes."""
        return self.photo if x.dtype == torch.uint8 and x.device.type == "cpu" else None

    def forward(self, x: torch.Tensor, input_affine: Affine | None = None) -> torch.Tensor:
        """Convolve ``x``, or ``x * scale + shift`` per channel when ``input_affine`` is given (one image)."""
        weight: torch.Tensor = self.weight
        bias: torch.Tensor = self.bias
        if input_affine is not None:
            weight, bias = fold_input_affine(weight, bias, input_affine)
        if x.dtype == torch.uint8:  # a photo's bytes: padded in one copy, channels_last
            photo = self.int8_layer_for(x)
            if photo is not None and input_affine is None:
                return photo(reflection_padded(x, (self.pad,) * 4, torch.uint8))
            with fp32_if(self.full_precision, x):
                padded = reflection_padded(x, (self.pad,) * 4, weight.dtype)
                return F.conv2d(padded, weight, bias, stride=self.stride)
        with fp32_if(self.full_precision, x):
            x = x.to(weight.dtype)
            large = x.shape[2] * x.shape[3] >= PAD_BY_COPY_BELOW_PIXELS
            if large and weight.shape[-1] == 3 and self.stride in ((1, 1), (2, 2)):
                return self._reflect_by_correction(x, weight, bias)
            padded = F.pad(x, (self.pad,) * 4, mode="reflect")
            return F.conv2d(padded, weight, bias, stride=self.stride)

    def _reflect_by_correction(self, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """3x3 conv (stride 1 or 2) with reflection padding, without copying the padded map.

        Convolve with (free, implicit) zero padding, then add what the reflected border rows and columns
        contribute to the outermost output rows and columns. The row terms use horizontally reflected
        rows, so they also supply the corners; the column terms see zeros above and below. At stride 2
        an even side never reaches its far padding, so that side needs no term.
        """
        stride = self.stride[0]
        out = F.conv2d(x, w, bias, stride=stride, padding=1)
        height, width = x.shape[2], x.shape[3]
        rows, cols = (1, stride), (stride, 1)
        top = F.pad(x[:, :, 1:2], (1, 1, 0, 0), mode="reflect")
        out[:, :, :1] += F.conv2d(top, w[:, :, :1], stride=rows)
        if stride * (out.shape[2] - 1) + 1 == height:
            bottom = F.pad(x[:, :, height - 2 : height - 1], (1, 1, 0, 0), mode="reflect")
            out[:, :, -1:] += F.conv2d(bottom, w[:, :, 2:], stride=rows)
        left = F.pad(x[:, :, :, 1:2], (0, 0, 1, 1))
        out[:, :, :, :1] += F.conv2d(left, w[:, :, :, :1], stride=cols)
        if stride * (out.shape[3] - 1) + 1 == width:
            right = F.pad(x[:, :, :, width - 2 : width - 1], (0, 0, 1, 1))
            out[:, :, :, -1:] += F.conv2d(right, w[:, :, :, 2:], stride=cols)
        return out


def clamp_grid(grid: torch.Tensor, low: torch.Tensor, high: torch.Tensor, *, out: torch.Tensor) -> None:
    """Clamp a ``[N, h, w, 2, 2, C]`` grid per channel ``C`` into the grid ``out`` (see views.py).

    One phase at a time: PyTorch runs the whole 6-D grid with an inner loop of ``C`` values; one
    phase is a 4-D view that it runs about three times faster (4 channels at 256x218: 0.8 ms, not 2.7).
    """
    for a, b in PHASES:
        torch.clamp(grid[:, :, :, a, b], low, high, out=out[:, :, :, a, b])


def fp32_if(wanted: bool, x: torch.Tensor) -> torch.autocast | nullcontext[None]:
    """Turn autocast off for the layers that keep fp32 in the bf16 path."""
    if wanted and torch.is_autocast_enabled(x.device.type):
        return torch.autocast(x.device.type, enabled=False)
    return nullcontext()


class PhaseUpConv(nn.Module):
    """:class:`UpsampleConvLayer` (2x nearest, 3x3) as one 2x2 phase convolution and an interleave."""

    def __init__(self, layer: UpsampleConvLayer) -> None:
        super().__init__()
        if layer.upsample != 2 or layer.conv2d.kernel_size != (3, 3) or layer.conv2d.stride != (1, 1):
            msg = "the phase rewrite covers 2x upsampling before a 3x3, stride-1 convolution only"
            raise ValueError(msg)
        self.out_channels = layer.conv2d.out_channels
        self.weight = nn.Parameter(_nhwc(phase_kernels(layer.conv2d.weight.detach())), requires_grad=False)
        self.bias = nn.Parameter(_bias(layer.conv2d).repeat(4), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, height, width = x.shape
        return self.interleave(self.phases(x), height, width)

    def phases(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the four phase maps, each a row and a column larger than ``x`` (see :meth:`interleave`)."""
        return F.conv2d(
            F.pad(x.to(self.weight.dtype), (1, 1, 1, 1), mode="replicate"), self.weight, self.bias
        )

    def phases_from_phases(
        self, phases: torch.Tensor, height: int, width: int, norm: FastNorm
    ) -> torch.Tensor:
        """Compute this layer's phase maps of ``norm`` of a 2x map held as another layer's phase maps.

        One image; ``height`` and ``width`` are the small map's. One clip (see :meth:`FastNorm.clip`)
        writes the 2x map straight from the phase maps into the edge-padded buffer this layer
        convolves (no interleave copy, no padding copy, no pass for the norm's affine: it goes
        into the weights).
        """
        batch, channels4, _, _ = phases.shape
        padded = torch.empty(
            batch,
            channels4 // 4,
            2 * height + 2,
            2 * width + 2,
            dtype=phases.dtype,
            device=phases.device,
            memory_format=torch.channels_last,
        )
        affine, low, high = norm.clip(*phase_stats(phases, height, width))
        clamp_grid(phases_grid(phases, height, width), low, high, out=interleaved_grid(padded, 1))
        # Edge padding by one: columns first, then whole rows (which brings the corners along).
        padded[:, :, 1:-1, 0] = padded[:, :, 1:-1, 1]
        padded[:, :, 1:-1, -1] = padded[:, :, 1:-1, -2]
        padded[:, :, 0] = padded[:, :, 1]
        padded[:, :, -1] = padded[:, :, -2]
        return F.conv2d(padded, *fold_input_affine(self.weight, self.bias, affine))

    def interleave(self, phases: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Place the four phase maps (each ``height + 1`` by ``width + 1``) into the 2x larger map."""
        batch = phases.shape[0]
        out = torch.empty(
            batch,
            self.out_channels,
            2 * height,
            2 * width,
            dtype=phases.dtype,
            device=phases.device,
            memory_format=torch.channels_last,
        )
        for index, (a, b) in enumerate(PHASES):
            block = phases[:, index * self.out_channels : (index + 1) * self.out_channels]
            out[:, :, a::2, b::2] = block[:, :, a : a + height, b : b + width]
        return out


class SpaceToDepthConv(nn.Module):
    """A reflection-padded convolution with few outputs (the 9x9, 32->3 last layer) as a denser one.

    oneDNN runs a convolution with 3 output channels at a fraction of its speed. Computing it on the
    2x2 space-to-depth form of the padded input (4x the channels, half the side) with a
    ``ceil((k + 1) / 2)``-wide kernel and 4x the outputs, then depth-to-space, gives the same sums in a
    shape the library runs about 3x faster (at 1024x1024), for about a quarter more multiply-adds.
    """

    def __init__(self, layer: ConvLayer) -> None:
        super().__init__()
        if layer.conv2d.stride != (1, 1):
            msg = "the space-to-depth rewrite covers stride-1 convolutions only"
            raise ValueError(msg)
        self.pad = layer.pad
        # Outputs in phase-block order (block 2 * a + b, then channel), which depth_to_space takes.
        kernel = phase_block_order(space_to_depth_kernels(layer.conv2d.weight.detach()), dim=0)
        self.weight = nn.Parameter(_nhwc(kernel), requires_grad=False)
        self.bias = nn.Parameter(_bias(layer.conv2d).repeat(4), requires_grad=False)
        # The same kernel for inputs in phase-block order too (block 2 * p + q, then channel).
        self.grouped_weight = nn.Parameter(_nhwc(phase_block_order(kernel)), requires_grad=False)

    def from_phases(self, phases: torch.Tensor, height: int, width: int, norm: FastNorm) -> torch.Tensor:
        """Convolve ``norm`` of the 2x map given as :class:`PhaseUpConv` phase maps of a small one.

        Returns the output in space-to-depth form (:func:`depth_to_space` gives the map itself).
        One image; ``height`` and ``width`` are the small map's. The phase blocks, cropped, are
        already the 2x2 space-to-depth form of the large map (blocks in place of pixel_unshuffle's
        channel order), so the interleave, the norm (a clip, its affine folded into the weights), the
        padding copy and the pixel_unshuffle collapse into one gather. Reflection padding by an even
        ``pad`` of the large map is a reflection of whole space-to-depth rows and columns that keeps
        each pixel's parity.
        """
        batch, channels4, _, _ = phases.shape
        channels, half = channels4 // 4, self.pad // 2
        grouped = torch.empty(
            batch,
            channels4,
            height + 2 * half,
            width + 2 * half,
            dtype=phases.dtype,
            device=phases.device,
            memory_format=torch.channels_last,
        )
        affine, low, high = norm.clip(*phase_stats(phases, height, width))
        clamp_grid(phases_grid(phases, height, width), low, high, out=space_to_depth_grid(grouped, half))
        by_parity = grouped.view(batch, 2, 2, channels, height + 2 * half, width + 2 * half)
        inner = slice(half, half + height)
        for j in range(half):
            for q in (0, 1):
                by_parity[:, :, q, :, inner, j] = by_parity[:, :, q, :, inner, 2 * half - j - q]
                by_parity[:, :, q, :, inner, half + width + j] = by_parity[
                    :, :, q, :, inner, half + width - 1 - j - q
                ]
        for i in range(half):
            for p in (0, 1):
                by_parity[:, p, :, :, i] = by_parity[:, p, :, :, 2 * half - i - p]
                by_parity[:, p, :, :, half + height + i] = by_parity[:, p, :, :, half + height - 1 - i - p]
        return F.conv2d(grouped, *fold_input_affine(self.grouped_weight, self.bias, affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, height, width = x.shape
        # A filler row/column where needed makes the padded sides even; its output is cut off.
        pads = (self.pad, self.pad + width % 2, self.pad, self.pad + height % 2)
        padded = F.pad(x.to(self.weight.dtype), pads, mode="reflect")
        return self.convolve_padded(padded)[:, :, :height, :width]

    def convolve_padded(self, padded: torch.Tensor) -> torch.Tensor:
        """Convolve a map already reflection-padded to even sides."""
        return depth_to_space(F.conv2d(F.pixel_unshuffle(padded, 2), self.weight, self.bias))


class FastNorm(nn.Module):
    """InstanceNorm2d (affine) with an optional ReLU, in place, keeping channels_last."""

    def __init__(self, norm: nn.InstanceNorm2d, *, relu: bool) -> None:
        super().__init__()
        self.eps = norm.eps
        self.relu = relu
        self.weight = nn.Parameter(norm.weight.detach().clone(), requires_grad=False)
        self.bias = nn.Parameter(norm.bias.detach().clone(), requires_grad=False)

    def affine(self, mean: torch.Tensor, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fold statistics ``[C]`` (or ``[N, C]``) and the affine weights into a scale and a shift."""
        scale = self.weight * torch.rsqrt(var + self.eps)
        shift = self.bias - mean * scale
        return scale.view(-1, scale.shape[-1], 1, 1), shift.view(-1, shift.shape[-1], 1, 1)

    def clip(self, mean: torch.Tensor, var: torch.Tensor) -> tuple[Affine, torch.Tensor, torch.Tensor]:
        """Turn one image's ``[C]`` statistics into ``(affine, low, high)``: a clip, then an affine.

        Per channel, ``norm(x) == affine(clamp(x, low, high))``, ReLU included.
        ReLU after ``scale * x + shift`` clips ``x`` at ``-shift / scale``: from below where the
        scale is positive, from above where it is negative; a zero scale gives the constant
        ``relu(shift)``. Without ReLU nothing is clipped. The affine then costs nothing: the next
        convolution folds it into its weights (:func:`fold_input_affine`), so the norm is one pass.
        """
        scale = self.weight * torch.rsqrt(var + self.eps)
        shift = self.bias - mean * scale
        unbounded = torch.full_like(scale, torch.inf)
        if not self.relu:
            return (scale, shift), -unbounded, unbounded
        threshold = -shift / scale
        low = torch.where(scale > 0, threshold, -unbounded)
        high = torch.where(scale < 0, threshold, unbounded)
        return (scale, torch.where(scale == 0, shift.clamp(min=0), shift)), low, high

    def clip_(self, x: torch.Tensor) -> Affine:
        """Normalise one image's map in place up to the affine returned, for the next convolution."""
        affine, low, high = self.clip(*image_stats(x))
        x.clamp_(low.view(1, -1, 1, 1), high.view(1, -1, 1, 1))
        return affine

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] == 1 and x.dtype == torch.float32:
            # The statistics, then the affine in place: fewer passes than batch_norm's.
            scale, shift = self.affine(*image_stats(x))
            torch.addcmul(shift, x, scale, out=x)
            return x.relu_() if self.relu else x
        if x.shape[0] == 1:
            # For one image, instance statistics are batch statistics, and batch_norm has fused
            # channels_last kernels (and keeps bf16 input in bf16, accumulating in fp32).
            y = F.batch_norm(x, None, None, self.weight, self.bias, training=True, eps=self.eps)
            return y.relu_() if self.relu else y
        return self.normalize_(x)

    def normalize_(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` in place (no second map in memory; slower than batch_norm)."""
        scale, shift = self.affine(*channel_stats(x))
        x.mul_(scale.to(x.dtype)).add_(shift.to(x.dtype))
        return x.relu_() if self.relu else x


class FastResidual(nn.Module):
    """:class:`ResidualBlock` from the fast pieces, adding the input back in place."""

    def __init__(self, block: ResidualBlock) -> None:
        super().__init__()
        self.conv1, self.in1 = FastConv(block.conv1), FastNorm(block.in1, relu=True)
        self.conv2, self.in2 = FastConv(block.conv2), FastNorm(block.in2, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        update: torch.Tensor = self.in2(self.conv2(self.in1(self.conv1(x))))
        return update.add_(x)


class FastTransformerNet(nn.Module):
    """Inference-only TransformerNet with the rewrites above; same input and output as the original."""

    def __init__(self, net: TransformerNet, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        # In the bf16 form the first layer stays fp32: a twentieth of the work, most of the error
        # (about 3 dB of PSNR here, 5 dB on the pretrained 26-style model; the last layer costs 0.5 dB).
        self.conv1 = FastConv(net.conv1, full_precision=True, photo=True)
        self.in1 = FastNorm(net.in1, relu=True)
        self.conv2, self.in2 = FastConv(net.conv2), FastNorm(net.in2, relu=True)
        self.conv3, self.in3 = FastConv(net.conv3), FastNorm(net.in3, relu=True)
        self.blocks = [FastResidual(b) for b in net.residual_blocks()]
        self.res = nn.ModuleList(self.blocks)  # registers them
        self.deconv1, self.in4 = PhaseUpConv(net.deconv1), FastNorm(net.in4, relu=True)
        self.deconv2, self.in5 = PhaseUpConv(net.deconv2), FastNorm(net.in5, relu=True)
        self.deconv3 = SpaceToDepthConv(net.deconv3)
        self.out_norm = None if net.out_norm is None else FastNorm(net.out_norm, relu=False)
        self.dtype = dtype
        self.eval().requires_grad_(False)
        # bf16: the convolutions after the first hold bf16 weights and pass bf16 activations on (no
        # autocast casts around every layer); norms accumulate in fp32.
        for module in self.modules():
            if isinstance(module, FastConv | PhaseUpConv | SpaceToDepthConv) and not getattr(
                module, "full_precision", False
            ):
                for parameter in module.parameters():
                    parameter.data = parameter.data.to(dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Stylize a batch ``[N, 3, H, W]`` of values 0..255, floats or a photo's bytes (uint8, see FastConv).

        Any layout; channels_last is fastest. Returns floats 0..255.
        """
        x = x.contiguous(memory_format=torch.channels_last)
        if self.one_pass:
            images = [self.finish(depth_to_space(self._stylize_one(image[None]))) for image in x.unbind()]
            return images[0] if len(images) == 1 else torch.cat(images)
        y = self.in1(self.conv1(x))
        y = self.in3(self.conv3(self.in2(self.conv2(y))))
        for block in self.blocks:
            y = block(y)
        return self.finish(self.deconv3(self.in5(self.deconv2(self.in4(self.deconv1(y))))))

    @property
    def one_pass(self) -> bool:
        """Whether images run through :meth:`_stylize_one` (fp32, an even last padding)."""
        return self.dtype == torch.float32 and self.deconv3.pad % 2 == 0

    def picture(self, photo: torch.Tensor) -> torch.Tensor:
        """Stylize one photo ``[1, 3, H, W]`` (a photo's bytes, or floats 0..255) into ``[H', W', 3]`` uint8.

        The values of :meth:`forward` cut by :func:`to_uint8`. In the one-pass form the output norm, the
        sigmoid and the cut run on the last layer's space-to-depth output, whose 12 channels are
        contiguous (PyTorch's per-channel loops over 3 channels are several times slower), and only the
        picture's bytes are rearranged into pixels.
        """
        if not self.one_pass or photo.shape[0] != 1:
            return to_uint8(self(photo)[0]).permute(1, 2, 0)
        blocks = self._stylize_one(photo.contiguous(memory_format=torch.channels_last))
        _, channels4, height, width = blocks.shape
        rows = blocks.permute(0, 2, 3, 1).reshape(height, width * channels4)  # channels_last: a view
        if self.out_norm is not None:
            scale, shift = self.out_norm.affine(*space_to_depth_stats(blocks))
            # A row holds ``width`` pixels of 4 phase blocks of the channels.
            along_row = 4 * width
            torch.addcmul(shift.view(-1).repeat(along_row), rows, scale.view(-1).repeat(along_row), out=rows)
            rows.sigmoid_().mul_(255)
        picture = to_uint8(rows).view(1, height, width, channels4).permute(0, 3, 1, 2)
        return depth_to_space(picture)[0].permute(1, 2, 0)

    def finish(self, out: torch.Tensor) -> torch.Tensor:
        """Apply the output norm and the sigmoid to 0..255 in place where the network has them."""
        if self.out_norm is None:
            return out
        with fp32_if(True, out):
            normalized: torch.Tensor = self.out_norm(out.float())
            return normalized.sigmoid_().mul_(255)

    def _stylize_one(self, x: torch.Tensor) -> torch.Tensor:
        """Run the fp32 forward pass for one image ``[1, 3, H, W]`` up to the last layer's output.

        That output is returned in phase-block space-to-depth form (:func:`depth_to_space` gives the
        map), before any output norm: :meth:`picture` and :meth:`forward` finish it.

        Each norm followed by a convolution is one clip pass; its affine goes into that convolution's
        weights (see :meth:`FastNorm.clip`). The residual stream is carried without each block's
        per-channel shift (InstanceNorm's bias and mean term), so a block's update is one pass too:
        each map the stream feeds (a block's first convolution, deconv1) goes straight into an
        InstanceNorm, which removes per-channel constants, and reflection or edge padding keeps a
        constant map constant.
        """
        y = self.conv1(x)
        y = self.conv2(y, self.in1.clip_(y))
        y = self.in3(self.conv3(y, self.in2.clip_(y)))
        for block in self.blocks:
            inner = block.conv1(y)
            residual = block.conv2(inner, block.in1.clip_(inner))
            del inner
            scale, _ = block.in2.affine(*image_stats(residual))
            y.addcmul_(residual, scale)
            del residual
        height, width = y.shape[2], y.shape[3]
        phases = self.deconv2.phases_from_phases(self.deconv1.phases(y), height, width, self.in4)
        return self.deconv3.from_phases(phases, 2 * height, 2 * width, self.in5)


def to_uint8(out: torch.Tensor) -> torch.Tensor:
    """Clamp network output to 0..255 and cut to 8 bits (truncating, as the example's numpy cast does)."""
    return out.float().clamp_(0, 255).to(torch.uint8)


def _bias(conv: nn.Conv2d) -> torch.Tensor:
    if conv.bias is None:
        return torch.zeros(conv.out_channels)
    return conv.bias.detach()


def _nhwc(weight: torch.Tensor) -> torch.Tensor:
    return weight.detach().clone().contiguous(memory_format=torch.channels_last)
