"""hash_series vs the plain per-row loop over hash_str: rows/s side by side, same bytes checked.

Target (issue 2): hash_series at least 1.5x the per-row loop's rows/s on 1,000,000 ids; exits 1 when
missed or when the two disagree. Rounds alternate between the two, the best of each is kept.
    .venv/bin/python bench/bench_hash.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import pandas as pd

from csci_utils.hashing import hash_series, hash_str
from neural_style.hardware import describe_cpu

TARGET = 1.5
SALT = bytes.fromhex("64656d6f2d73616c742d6e6f742d736563726574")  # the public demo salt


def best_of_interleaved(
    repeat: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[tuple[float, object], tuple[float, object]]:
    """Time two jobs in alternating rounds (fair under a changing load); return each one's best and result."""
    best = [float("inf"), float("inf")]
    results: list[object] = [None, None]
    for _ in range(repeat):
        for slot, job in enumerate((first, second)):
            start = time.perf_counter()
            results[slot] = job()
            best[slot] = min(best[slot], time.perf_counter() - start)
    return (best[0], results[0]), (best[1], results[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ids = pd.Series([f"student-{i:08d}@example.edu" for i in range(args.rows)], name="username")
    (loop_s, loop), (fast_s, fast) = best_of_interleaved(
        args.repeat,
        lambda: pd.Series([hash_str(v, SALT) for v in ids], index=ids.index),
        lambda: hash_series(ids, SALT),
    )
    same = list(loop) == list(fast)  # type: ignore[call-overload]

    print(describe_cpu())
    print(f"hashing {args.rows:,} ids (dtype {ids.dtype}), best of {args.repeat}")
    print(f"{'method':<28}{'seconds':>10}{'rows/s':>14}")
    print(f"{'per-row hash_str loop':<28}{loop_s:>10.3f}{args.rows / loop_s:>14,.0f}")
    print(f"{'hash_series':<28}{fast_s:>10.3f}{args.rows / fast_s:>14,.0f}")
    if not same:
        print("FAIL: hash_series and the loop disagree")
    ratio = loop_s / fast_s
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"speed-up {ratio:.2f}x (target >= {TARGET}x): {verdict}; same bytes: {same}")
    return 0 if same and ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
