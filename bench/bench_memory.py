"""neural_style memory: peak RSS of stylizing one NxN photo, each size in a fresh process.

Prints, per size (default 1024, 2048 and 4096): the process's peak RSS after loading the model (the
floor: Python, torch, the weights), its peak after stylizing, the seconds taken and the path used (one
pass, or row strips above the engine's threshold). Target: 4096x4096 within 3 GiB of peak RSS. Peak RSS is
``ru_maxrss`` of the child process (the kernel's high-water mark, so short-lived buffers count).

Usage: python bench/bench_memory.py [--sizes 1024 2048 4096] [--precision fp32]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def measure(size: int, precision: str) -> None:
    """In this fresh process: load a model, stylize one size x size photo, print JSON figures."""
    import numpy as np
    import torch

    from neural_style.engine import STREAM_ABOVE_PIXELS, TorchStylizer
    from neural_style.model import TransformerNet

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
    print(f"neural_style memory bench ({args.precision}); target: 4096x4096 within 3072 MiB peak RSS")
    for size in args.sizes:
        command = [sys.executable, __file__, "--measure", str(size), args.precision]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"  {size:5d}x{size:<5d} peak RSS {figures['peak']:7.0f} MiB "
            f"(model + photo {figures['loaded']:4.0f} MiB; {figures['peak'] / 3072:.2f} of 3 GiB)  "
            f"{figures['seconds']:6.1f} s  {figures['path']}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        measure(int(sys.argv[2]), sys.argv[3])
    else:
        main()
