"""``csci-io clean DIR --older-than 1h``: remove temp files that killed writers left behind.

The installed script ``csci-io`` (also ``python -m csci_utils.io_cli``). Prints each removed path, one a
line. Exit codes (``csci_utils.exit_codes``): 0 done (also when nothing was stale); 2 bad command line
(e.g. ``--older-than 1w``); 3 ``DIR`` does not exist or is not a directory; 1 a removal failed while
running; 130 interrupted.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from csci_utils.exit_codes import ExitCode
from csci_utils.io import remove_stale_temp_files

__all__ = ["build_parser", "main", "parse_duration"]

_PROG = "csci-io"
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)")


def parse_duration(text: str) -> float:
    """Return the seconds in ``text``: a number with an optional unit s, m, h or d (``90``, ``1.5h``)."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        msg = f"not a duration: {text!r} (use a number and s, m, h or d, e.g. 1h)"
        raise argparse.ArgumentTypeError(msg)
    number, unit = match.groups()
    return float(number) * _UNITS[unit or "s"]


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser of ``csci-io``."""
    parser = argparse.ArgumentParser(prog=_PROG, description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    clean = commands.add_parser("clean", help="remove our stale hidden temp files under DIR")
    clean.add_argument("directory", type=Path, metavar="DIR")
    clean.add_argument(
        "--older-than",
        type=parse_duration,
        required=True,
        metavar="AGE",
        help="only temp files not modified for this long (e.g. 30m, 1h, 2d; plain numbers are seconds)",
    )
    clean.add_argument("--no-recursive", dest="recursive", action="store_false", help="only DIR itself")
    return parser


def _fail(message: object, code: ExitCode) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv``; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        removed = remove_stale_temp_files(
            args.directory, older_than=args.older_than, recursive=args.recursive
        )
    except (FileNotFoundError, NotADirectoryError) as err:
        return _fail(f"{err.filename}: {err.strerror}", ExitCode.MISSING_INPUT)
    except OSError as err:
        return _fail(err, ExitCode.FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.INTERRUPTED)
    for path in removed:
        print(path)
    return int(ExitCode.OK)


if __name__ == "__main__":
    raise SystemExit(main())
