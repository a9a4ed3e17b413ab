"""A deterministic synthetic survey workbook shaped like the course's ``hashed.xlsx``.

The real export is not reachable from here, so the demo, tests and benchmarks use this instead: one sheet,
a ``hashed_id`` column of 8 hex digits (salted hashes of made-up usernames), then demographic-style integer,
categorical, float and date columns. The same ``rows`` and ``seed`` give the same workbook content.

Run ``python -m pset_1.synthetic OUT.xlsx --rows N [--seed S] [--overwrite]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from csci_utils.exit_codes import ExitCode
from csci_utils.hashing import hash_series
from csci_utils.io import atomic_write

__all__ = ["COLUMNS", "main", "make_survey", "write_workbook"]

COLUMNS = (
    "hashed_id",
    "age",
    "years_coding",
    "gender",
    "program",
    "favorite_language",
    "hours_per_week",
    "gpa",
    "enrolled_on",
    "responded_at",
)
_GENDERS = ("female", "male", "nonbinary", "prefer not to say")
_PROGRAMS = ("ALM Data Science", "ALM Software Engineering", "ALM IT", "Graduate Certificate", "Non-degree")
_LANGUAGES = ("Python", "R", "Java", "JavaScript", "C++", "Go", "SQL", "")  # "" is a skipped question
_FIRST_ENROLLMENT = dt.date(2012, 9, 1)
_SURVEY_OPENS = dt.datetime(2020, 1, 21, 8, 0)


def make_survey(rows: int, seed: int = 0) -> pd.DataFrame:
    """Return ``rows`` synthetic survey responses; the same arguments always give the same frame."""
    if rows < 0:
        msg = f"rows must be 0 or more, got {rows}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    usernames = pd.Series([f"student{seed}-{i}" for i in range(rows)], dtype=object)
    hashed_id = hash_series(usernames, salt=f"synthetic-survey-{seed}").map(lambda d: d.hex()[:8])
    age = rng.integers(18, 71, rows)
    enrolled_days = rng.integers(0, 365 * 8, rows)
    responded_seconds = rng.integers(0, 14 * 24 * 3600, rows)
    return pd.DataFrame(
        {
            "hashed_id": hashed_id.astype(object),
            "age": age,
            "years_coding": np.minimum(rng.poisson(4, rows), age - 14),
            "gender": rng.choice(np.array(_GENDERS, dtype=object), rows, p=[0.38, 0.55, 0.03, 0.04]),
            "program": rng.choice(np.array(_PROGRAMS, dtype=object), rows),
            "favorite_language": rng.choice(np.array(_LANGUAGES, dtype=object), rows),
            "hours_per_week": np.round(rng.gamma(4.0, 3.0, rows), 1),
            "gpa": np.round(np.clip(rng.normal(3.4, 0.4, rows), 0.0, 4.0), 2),
            "enrolled_on": [_FIRST_ENROLLMENT + dt.timedelta(days=int(d)) for d in enrolled_days],
            "responded_at": [_SURVEY_OPENS + dt.timedelta(seconds=int(s)) for s in responded_seconds],
        },
        columns=list(COLUMNS),
    )


def write_workbook(
    path: str | os.PathLike[str], rows: int, *, seed: int = 0, overwrite: bool = False
) -> Path:
    """Write :func:`make_survey` ``(rows, seed)`` as a one-sheet ``.xlsx`` at ``path``, atomically.

    Cells carry real Excel types (numbers, text, date and date-time formats), as a survey export would.

    :raises FileExistsError: if ``path`` exists and ``overwrite`` is False
    """
    import xlsxwriter  # the 'excel' extra; imported here so `import pset_1.synthetic` stays light

    target = Path(path)
    survey = make_survey(rows, seed)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(target, "wb", as_file=False, overwrite=overwrite) as temp:
        book = xlsxwriter.Workbook(temp, {"constant_memory": True})
        book.set_properties({"created": _SURVEY_OPENS})  # a fixed stamp keeps the file's bytes reproducible
        sheet = book.add_worksheet("Sheet1")
        date_format = book.add_format({"num_format": "yyyy-mm-dd"})
        time_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        sheet.write_row(0, 0, COLUMNS)
        columns = [survey[name].tolist() for name in COLUMNS]
        for row, values in enumerate(zip(*columns, strict=True), start=1):
            hid, age, years, gender, program, language, hours, gpa, enrolled, responded = values
            sheet.write_string(row, 0, hid)
            sheet.write_number(row, 1, age)
            sheet.write_number(row, 2, years)
            sheet.write_string(row, 3, gender)
            sheet.write_string(row, 4, program)
            if language:
                sheet.write_string(row, 5, language)
            sheet.write_number(row, 6, hours)
            sheet.write_number(row, 7, gpa)
            sheet.write_datetime(row, 8, enrolled, date_format)
            sheet.write_datetime(row, 9, responded, time_format)
        book.close()
    return target


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pset_1.synthetic", description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the .xlsx file to write")
    parser.add_argument("--rows", type=int, default=2000, help="number of survey responses (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Write the synthetic workbook named on the command line; return the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.output.suffix.lower() != ".xlsx":
        parser.error(f"output must end in .xlsx, got {args.output.name!r}")
    if args.rows < 0:
        parser.error(f"--rows must be 0 or more, got {args.rows}")
    try:
        path = write_workbook(args.output, args.rows, seed=args.seed, overwrite=args.overwrite)
    except FileExistsError:
        print(
            f"pset_1.synthetic: error: {args.output} exists; pass --overwrite to replace it", file=sys.stderr
        )
        return int(ExitCode.FAILED)
    except OSError as err:
        print(f"pset_1.synthetic: error: cannot write {args.output}: {err.strerror or err}", file=sys.stderr)
        return int(ExitCode.FAILED)
    print(f"wrote {args.rows} rows to {path}")
    return int(ExitCode.OK)


if __name__ == "__main__":
    raise SystemExit(main())
