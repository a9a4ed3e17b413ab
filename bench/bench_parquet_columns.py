"""One column read back vs the whole Parquet file: bytes pulled from the file and time, side by side.

The survey is generated in a temp folder; bytes are counted by a file wrapper pyarrow reads through.
Target (issue 2): reading ``hashed_id`` alone pulls no more than that column's own chunks plus the footer
and metadata (at most ``OVERHEAD_LIMIT`` bytes beyond them), and fewer bytes than the whole file; exits 1
when missed.
    .venv/bin/python bench/bench_parquet_columns.py [--rows 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from csci_utils.io import atomic_write
from csci_utils.parquet import read_parquet_columns
from neural_style.hardware import describe_cpu
from pset_1.synthetic import make_survey

OVERHEAD_LIMIT = 256 * 1024  # footer + page indexes; far below one column chunk of a large file


class CountingFile(io.RawIOBase):
    """A read-only file that counts the bytes read through it."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close(), like any file object
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        count = self._file.readinto(buffer)
        self.bytes_read += count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


def measure(path: Path, columns: list[str], repeat: int) -> tuple[int, float]:
    with CountingFile(path) as counted:
        read_parquet_columns(counted, columns)
        bytes_read = counted.bytes_read
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        read_parquet_columns(path, columns)
        best = min(best, time.perf_counter() - start)
    return bytes_read, best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    table = pa.Table.from_pandas(make_survey(args.rows), preserve_index=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hashed.parquet"
        with atomic_write(path, "wb") as handle:
            pq.write_table(table, handle)
        size = path.stat().st_size
        metadata = pq.read_metadata(path)
        index = table.schema.get_field_index("hashed_id")
        chunk = sum(
            metadata.row_group(g).column(index).total_compressed_size for g in range(metadata.num_row_groups)
        )
        one_bytes, one_s = measure(path, ["hashed_id"], args.repeat)
        all_bytes, all_s = measure(path, table.column_names, args.repeat)

    print(describe_cpu())
    print(f"Parquet read-back, {args.rows:,} rows x {table.num_columns} columns, file {size / 1e6:.2f} MB")
    print(f"hashed_id column chunks: {chunk / 1e6:.2f} MB ({chunk / size:.0%} of the file)")
    print(f"{'read':<26}{'bytes read':>14}{'of file':>9}{'seconds':>10}")
    print(f"{'hashed_id only':<26}{one_bytes:>14,}{one_bytes / size:>9.0%}{one_s:>10.3f}")
    print(f"{'whole file':<26}{all_bytes:>14,}{all_bytes / size:>9.0%}{all_s:>10.3f}")
    overhead = one_bytes - chunk
    print(f"bytes beyond the column's own chunks (footer and metadata): {overhead:,}")
    print(f"one column reads {all_bytes / one_bytes:.1f}x fewer bytes and is {all_s / one_s:.1f}x faster")
    met = one_bytes < all_bytes and overhead <= OVERHEAD_LIMIT
    verdict = "PASS" if met else "FAIL"
    print(f"overhead {overhead:,} B (target <= {OVERHEAD_LIMIT:,} B, fewer bytes than the file): {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
