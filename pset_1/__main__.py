"""``python -m pset_1``: user ids by salted hash, the survey workbook to Parquet, its id column read back.

Exit codes (the shared table, :mod:`csci_utils.exit_codes`): 0 done; 1 writing the Parquet file failed
(disk full, folder not writable); 2 bad command line; 3 the workbook is missing or unreadable; 4 it is not
a workbook or its sheet has no ``hashed_id`` column; 5 ``CSCI_SALT`` is missing or not hex; 130
interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from csci_utils.exit_codes import ExitCode
from csci_utils.hashing import SaltError, get_user_id
from csci_utils.parquet import (
    ParquetWriteError,
    convert_excel_to_parquet,
    parquet_path_for,
    read_parquet_columns,
)

__all__ = ["DEFAULT_EXCEL", "ID_COLUMN", "hashed_ids", "main"]

ID_COLUMN = "hashed_id"
DEFAULT_EXCEL = Path("data/hashed.xlsx")


def hashed_ids(excel: Path, *, overwrite: bool = False) -> pd.Series:
    """Convert ``excel`` to Parquet beside it (kept if already there) and return only its id column."""
    parquet = convert_excel_to_parquet(excel, overwrite=overwrite, required_columns=[ID_COLUMN])
    return read_parquet_columns(parquet, [ID_COLUMN])[ID_COLUMN]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pset_1", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--user", action="append", default=[], metavar="NAME", help="print this user's id (repeatable)"
    )
    parser.add_argument(
        "--excel", type=Path, default=DEFAULT_EXCEL, help=f"survey workbook (default {DEFAULT_EXCEL})"
    )
    parser.add_argument("--overwrite", action="store_true", help="rewrite the Parquet file if it exists")
    parser.add_argument("--all", action="store_true", help="print every id, not a summary of the column")
    return parser


@contextmanager
def _report_library_logs() -> Iterator[None]:
    """Show the library's progress lines (e.g. 'kept as is') on this run's stderr, then detach."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("pset_1: %(message)s"))
    library = logging.getLogger("csci_utils")
    previous = library.level
    library.addHandler(handler)
    library.setLevel(logging.INFO)
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.setLevel(previous)


def _describe(err: OSError) -> str:
    """Return an OSError as one line: what failed and on which file."""
    if err.filename and err.strerror:
        return f"{err.strerror}: {err.filename}"
    return str(err)


def _fail(message: object, code: ExitCode) -> int:
    print(f"pset_1: error: {message}", file=sys.stderr)
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pset 1 job on the command line ``argv``; return the exit code."""
    args = _build_parser().parse_args(argv)
    try:
        # Ids first: a bad salt stops the run before any file is written.
        user_ids = {name: get_user_id(name) for name in args.user}
        with _report_library_logs():
            ids = hashed_ids(args.excel, overwrite=args.overwrite)
    except SaltError as err:
        return _fail(err, ExitCode.CONFIGURATION)
    except ValueError as err:
        return _fail(err, ExitCode.BAD_INPUT)
    except ParquetWriteError as err:
        return _fail(f"cannot write {err.filename}: {err.strerror}", ExitCode.FAILED)
    except OSError as err:
        return _fail(_describe(err), ExitCode.MISSING_INPUT)
    except KeyboardInterrupt:
        return _fail("interrupted; nothing partial was written", ExitCode.INTERRUPTED)
    try:
        for name, user_id in user_ids.items():
            print(f"{name}: {user_id}")
        print(f"{ID_COLUMN} read back from {parquet_path_for(args.excel)}:")
        print(ids.to_string() if args.all else ids, flush=True)
    except BrokenPipeError:
        # The reader (e.g. `| head`) left; silence the interpreter's own flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return int(ExitCode.OK)


if __name__ == "__main__":
    raise SystemExit(main())
