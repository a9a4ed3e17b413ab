"""Winograd F(2x2, 3x3) as batched matmuls vs oneDNN's direct 3x3 convolution, 128 -> 128 channels.

The residual blocks' ten 3x3, 128->128 convolutions are 60% of TransformerNet's multiply-adds; Winograd
F(2x2, 3x3) needs 2.25x fewer multiplies. This times one such convolution both ways (best of N, the two
interleaved in the same rounds) on a quarter-resolution map and prints the ratio and the largest
difference, so the decision to keep the direct form can be checked on any machine. Exits 1 when
Winograd is not faster (the engine then keeps the direct convolution).

Usage: python bench/bench_winograd.py [--side 256] [--repeats 7]
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from torch.nn import functional as F

# F(2x2, 3x3) transforms (Lavin and Gray, 2015).
B_T = torch.tensor([[1.0, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
G = torch.tensor([[1.0, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
A_T = torch.tensor([[1.0, 1, 1, 0], [0, 1, -1, -1]])


def winograd_weights(weight: torch.Tensor) -> torch.Tensor:
    """``[O, I, 3, 3]`` -> ``[16, I, O]``: G g G^T per channel pair, one matrix per tile position."""
    u = torch.einsum("ak,oikl,bl->abio", G, weight, G)
    return u.reshape(16, weight.shape[1], weight.shape[0]).contiguous()


def _input_transform(
    a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, d: torch.Tensor
) -> list[torch.Tensor]:
    """B^T applied along one axis to the four taps of every tile: the adds of a 4-point transform."""
    return [a - c, b + c, c - b, b - d]


def winograd_conv(padded: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Valid 3x3 convolution of an NHWC ``[1, C, H + 2, W + 2]`` map (H, W even) via F(2x2, 3x3).

    The transforms are sums of strided views (no tiny matmuls); the 16 products are one bmm.
    """
    _, channels, rows, cols = padded.shape
    tiles_y, tiles_x = (rows - 2) // 2, (cols - 2) // 2
    hwc = padded.permute(0, 2, 3, 1)[0]  # [rows, cols, C], a view of the NHWC storage
    by_row = _input_transform(*(hwc[k : k + 2 * tiles_y : 2] for k in range(4)))
    v = torch.empty(4, 4, tiles_y, tiles_x, channels)
    for a, row in enumerate(by_row):
        for b, tap in enumerate(_input_transform(*(row[:, k : k + 2 * tiles_x : 2] for k in range(4)))):
            v[a, b] = tap
    m = torch.bmm(v.view(16, tiles_y * tiles_x, channels), u).view(4, 4, tiles_y, tiles_x, -1)
    # A^T m A: output (i, j) sums rows 0+1+2 (i = 0) or 1-2-3 (i = 1), and the same over columns.
    rows_sum = [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]
    out = torch.empty(1, 2 * tiles_y, 2 * tiles_x, u.shape[-1])
    grid = out.view(tiles_y, 2, tiles_x, 2, -1)
    for i, r in enumerate(rows_sum):
        grid[:, i, :, 0] = r[0] + r[1] + r[2]
        grid[:, i, :, 1] = r[1] - r[2] - r[3]
    return out.permute(0, 3, 1, 2)


def best_time(call, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=256, help="map side (256 = a 1024 px photo)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from neural_style.hardware import describe_cpu

    print(describe_cpu())
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(128, 128, 3, 3, generator=generator) / 34
    x = torch.randn(1, 128, args.side + 2, args.side + 2, generator=generator)
    x = x.contiguous(memory_format=torch.channels_last)
    u = winograd_weights(weight)
    with torch.inference_mode():
        direct = F.conv2d(x, weight)
        wino = winograd_conv(x, u)
        error = (direct - wino).abs().max().item() / direct.abs().max().item()
        times = {"direct": float("inf"), "winograd": float("inf")}
        for _ in range(args.repeats):
            times["direct"] = min(times["direct"], best_time(lambda: F.conv2d(x, weight), 1))
            times["winograd"] = min(times["winograd"], best_time(lambda: winograd_conv(x, u), 1))
    ratio = times["winograd"] / times["direct"]
    print(
        f"  3x3 128->128 on {args.side}x{args.side}: direct {times['direct'] * 1e3:.1f} ms   "
        f"winograd F(2x2,3x3) {times['winograd'] * 1e3:.1f} ms ({ratio:.2f}x)   "
        f"max difference {error:.1e} of the output range"
    )
    if ratio >= 1.0:
        print("target missed: Winograd is not faster than the direct convolution here")
        sys.exit(1)


if __name__ == "__main__":
    main()
