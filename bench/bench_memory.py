"""neural_style memory: peak RSS of stylizing one NxN photo, each size in a fresh process.

Prints, per size (default 1024, 2048 and 4096): the process's peak RSS after loading the model (the
floor: Python, torch, the weights), its peak after stylizing, the seconds taken and the path used (one
pass, or row strips above the engine's threshold). Target: 4096x4096 within 3 GiB of peak RSS. Peak RSS is
``ru_maxrss`` of the child process (the kernel's high-water mark, so short-lived buffers count).
Prints the CPU first and the figures last; exits 1 when a size of 4096 or more misses the target.

Usage: python bench/bench_memory.py [--sizes 1024 2048 4096] [--precision fp32]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

TARGET_MIB = 3072  # peak RSS at 4096x4096, at most
TARGET_SIDE = 4096


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure(size: int, precision: str) -> None:
    """In this fresh process: load a model, stylize one size x size photo, print JSON figures."""
    import numpy as np
    import torch

    from neural_style.torch.model import TransformerNet
    from neural_style.torch.runner import STREAM_ABOVE_PIXELS, TorchStylizer

    torch.manual_seed(0)
    stylizer = TorchStylizer(TransformerNet(), precision=precision)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rgb = np.stack([127 + 100 * np.sin(5 * x * (c + 1) + 3 * y) for c in range(3)], axis=-1).astype(np.uint8)
    loaded = _peak_mib()
    start = time.perf_counter()
    out = stylizer.stylize_array(rgb)
    seconds = time.perf_counter() - start
    path = "strips" if size * size > STREAM_ABOVE_PIXELS else "one pass"
    print(
        json.dumps(
            {"loaded": loaded, "peak": _peak_mib(), "seconds": seconds, "path": path, "out": out.shape}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    args = parser.parse_args()
    from neural_style.hardware import describe_cpu

    print(
        f"neural_style memory bench ({args.precision}); target: {TARGET_SIDE}x{TARGET_SIDE} within "
        f"{TARGET_MIB} MiB peak RSS\n{describe_cpu()}"
    )
    figures: list[str] = []
    missed: list[str] = []
    for size in args.sizes:
        print(f"measuring {size}x{size} ...", flush=True)
        command = [sys.executable, __file__, "--measure", str(size), args.precision]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        figures.append(
            f"  {size:5d}x{size:<5d} peak RSS {result['peak']:7.0f} MiB "
            f"(model + photo {result['loaded']:4.0f} MiB; {result['peak'] / TARGET_MIB:.2f} of 3 GiB)  "
            f"{result['seconds']:6.1f} s  {result['path']}"
        )
        if size >= TARGET_SIDE and result["peak"] > TARGET_MIB:
            missed.append(f"{size}x{size} peaked at {result['peak']:.0f} MiB (target {TARGET_MIB} MiB)")
    print("\n".join(figures))
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed))
        sys.exit(1)
    print("all targets met")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        measure(int(sys.argv[2]), sys.argv[3])
    else:
        main()
