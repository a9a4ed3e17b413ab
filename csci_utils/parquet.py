"""Excel workbooks to Parquet, and reading back only the columns asked for.

The workbook is read by fastexcel (the Rust calamine reader, straight into Arrow) and written with pyarrow
through :func:`csci_utils.io.atomic_write`, so a half-converted file is never visible.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from csci_utils.io import atomic_write

__all__ = [
    "ParquetWriteError",
    "convert_excel_to_parquet",
    "parquet_path_for",
    "read_excel_table",
    "read_parquet_columns",
]

log = logging.getLogger(__name__)


class ParquetWriteError(OSError):
    """Writing the Parquet file failed (disk full, read-only folder, ...): the output side, not the input.

    An :class:`OSError` with the cause's ``errno`` and ``strerror``, and the Parquet path as ``filename``,
    so callers that catch OSError keep working and command lines can tell "could not write" (a run-time
    failure) from "could not read the workbook" (a missing input).
    """


def parquet_path_for(path: str | os.PathLike[str]) -> Path:
    """Return where the Parquet copy of ``path`` goes: same folder and name, extension ``.parquet``."""
    return Path(path).with_suffix(".parquet")


def _require_file(path: Path, what: str) -> None:
    """Raise the builtin OSError a user would expect, with a message that says what was looked for."""
    if not path.exists():
        msg = f"{path}: no such {what}"
        raise FileNotFoundError(msg)
    if path.is_dir():
        msg = f"{path} is a folder, not a {what}"
        raise IsADirectoryError(msg)


def _refine(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Give back the type Excel lost: whole-number columns become int64, midnight-only ones date32.

    Excel stores every number as a double and every date as a date-time, so a column of ages arrives as
    floats and a column of dates as timestamps. A column is narrowed only if *every* value fits.
    """
    if pa.types.is_floating(column.type):
        try:
            return pc.cast(column, pa.int64())  # safe cast: refuses fractions and out-of-range values
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return column
    if pa.types.is_timestamp(column.type) and column.null_count < len(column):
        midnight = pc.floor_temporal(column, unit="day")
        if pc.all(pc.equal(column, midnight)).as_py():
            return pc.cast(column, pa.date32())
    return column


def read_excel_table(
    path: str | os.PathLike[str], *, sheet: int | str = 0, required_columns: Iterable[str] = ()
) -> pa.Table:
    """Return one sheet of a workbook as an Arrow table, with integer and date columns restored.

    :param sheet: sheet index (from 0) or name
    :param required_columns: header names the sheet must have
    :raises FileNotFoundError: if the workbook does not exist
    :raises ValueError: if it is not a workbook fastexcel can read, lacks the sheet, or lacks a column
    """
    import fastexcel  # the 'excel' extra; imported here so reading Parquet does not need it

    source = Path(path)
    _require_file(source, "workbook")
    try:
        loaded = fastexcel.read_excel(source).load_sheet(sheet)
    except fastexcel.SheetNotFoundError as err:
        msg = f"{source}: {str(err).splitlines()[-1].strip()}"
        raise ValueError(msg) from None
    except fastexcel.FastExcelError as err:
        msg = f"{source} is not a readable Excel workbook ({str(err).splitlines()[0]})"
        raise ValueError(msg) from None
    names = [info.name for info in loaded.available_columns()]
    missing = [name for name in required_columns if name not in names]
    if missing:
        msg = f"{source}: sheet {loaded.name!r} has no column {', '.join(map(repr, missing))}; it has {names}"
        raise ValueError(msg)
    batch = loaded.to_arrow()
    return pa.table([_refine(column) for column in batch.columns], names=batch.schema.names)


def _check_existing(target: Path, required_columns: Iterable[str]) -> None:
    """Refuse to hand back an existing Parquet file that is unreadable or lacks a required column."""
    try:
        present = pq.read_schema(target).names
    except (pa.ArrowInvalid, OSError) as err:
        msg = f"{target} exists but is not readable Parquet ({err}); overwrite it to rebuild it"
        raise ValueError(msg) from None
    missing = [name for name in required_columns if name not in present]
    if missing:
        msg = f"existing {target} has no column {', '.join(map(repr, missing))}; overwrite it to rebuild it"
        raise ValueError(msg)


def convert_excel_to_parquet(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    sheet: int | str = 0,
    required_columns: Iterable[str] = (),
) -> Path:
    """Write ``<same name>.parquet`` next to the workbook at ``path`` and return its path.

    An existing Parquet file is kept as is (and logged) unless ``overwrite`` is True; then it is replaced
    atomically. Nothing is written when the workbook cannot be read or lacks a ``required_columns`` name.

    :raises FileNotFoundError: if the workbook does not exist
    :raises ValueError: see :func:`read_excel_table`
    :raises ParquetWriteError: if writing the Parquet file fails (nothing partial is left)
    """
    source = Path(path)
    _require_file(source, "workbook")
    target = parquet_path_for(source)
    if target == source:
        msg = f"{source} already ends in .parquet; give the workbook"
        raise ValueError(msg)
    if target.exists() and not overwrite:
        _check_existing(target, required_columns)
        log.info("%s already exists; kept as is (not rewritten)", target)
        return target
    table = read_excel_table(source, sheet=sheet, required_columns=required_columns)
    try:
        with atomic_write(target, "wb", overwrite=overwrite) as handle:
            pq.write_table(table, handle)
    except OSError as err:
        raise ParquetWriteError(err.errno, err.strerror or str(err), os.fspath(target)) from err
    log.info("wrote %s (%d rows, %d columns)", target, table.num_rows, table.num_columns)
    return target


def read_parquet_columns(source: str | os.PathLike[str] | BinaryIO, columns: Sequence[str]) -> pd.DataFrame:
    """Return only ``columns`` of a Parquet file as a DataFrame, reading only their data from disk.

    :param source: a path, or a seekable binary file object
    :raises FileNotFoundError: if the path does not exist
    :raises ValueError: if it is not Parquet, or a column is not in it
    """
    wanted = [columns] if isinstance(columns, str) else list(columns)
    if not wanted:
        msg = "name at least one column to read"
        raise ValueError(msg)
    if isinstance(source, (str, os.PathLike)):
        _require_file(Path(source), "Parquet file")
        label = os.fspath(source)
    else:
        label = str(getattr(source, "name", "the Parquet stream"))
    try:
        parquet = pq.ParquetFile(source)
    except pa.ArrowInvalid as err:
        msg = f"{label} is not a Parquet file ({err})"
        raise ValueError(msg) from None
    with parquet:
        present = parquet.schema_arrow.names
        missing = [column for column in wanted if column not in present]
        if missing:
            msg = f"{label} has no column {', '.join(map(repr, missing))}; it has {present}"
            raise ValueError(msg)
        return parquet.read(columns=wanted).to_pandas()
