"""``python -m csci_utils.luigi.s3 clean-uploads s3://BUCKET/PREFIX --older-than 1h``: abort stale uploads.

Exit codes (:class:`csci_utils.exit_codes.ExitCode`): 0 done (also when nothing was stale), 2 a bad
command line, 3 the bucket does not exist, 5 credentials or an ``[s3]`` setting missing, malformed or
refused, 1 S3 could not be reached or failed, 130 interrupted.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import timedelta

from csci_utils.exit_codes import ExitCode
from csci_utils.luigi.s3.errors import split_s3_url
from csci_utils.luigi.s3.settings import S3ConfigError
from csci_utils.luigi.s3.uploads import abort_stale_uploads

__all__ = ["main", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd]?)")


def parse_duration(text: str) -> timedelta:
    """Parse ``90s``, ``15m``, ``1h``, ``2d`` or a plain number of seconds.

    :raises ValueError: for anything else
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        msg = f"not a duration: {text!r} (use e.g. 90s, 15m, 1h, 2d)"
        raise ValueError(msg)
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or "s"])


def _duration(text: str) -> timedelta:
    """Argparse type for durations: its error is argparse's one-line usage error."""
    try:
        return parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _prefix(text: str) -> str:
    """Argparse type for ``s3://BUCKET[/PREFIX]``."""
    try:
        split_s3_url(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m csci_utils.luigi.s3", description="S3 housekeeping.")
    commands = parser.add_subparsers(dest="command", required=True)
    clean = commands.add_parser(
        "clean-uploads", help="abort multipart uploads that were started and never finished"
    )
    clean.add_argument("prefix", type=_prefix, help="s3://BUCKET or s3://BUCKET/PREFIX")
    clean.add_argument(
        "--older-than",
        type=_duration,
        default=timedelta(hours=1),
        help="only uploads started longer ago than this (default 1h; 0 for all)",
    )
    clean.add_argument("--dry-run", action="store_true", help="list them, abort nothing")
    return parser


_PROG = "python -m csci_utils.luigi.s3"
# First match wins: the bucket missing, credentials refused, anything else that broke while running.
_EXIT_CODES: tuple[tuple[type[OSError], ExitCode], ...] = (
    (FileNotFoundError, ExitCode.MISSING_INPUT),
    (PermissionError, ExitCode.CONFIGURATION),
    (OSError, ExitCode.FAILED),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit code."""
    args = _parser().parse_args(argv)
    try:
        stale = abort_stale_uploads(args.prefix, older_than=args.older_than, dry_run=args.dry_run)
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except OSError as err:  # S3ConfigError is a ValueError, handled below
        print(f"{_PROG}: error: {err}", file=sys.stderr)
        return next(code for kind, code in _EXIT_CODES if isinstance(err, kind))
    except S3ConfigError as err:
        print(f"{_PROG}: error: {err}", file=sys.stderr)
        return ExitCode.CONFIGURATION
    verb = "would abort" if args.dry_run else "aborted"
    for upload in stale:
        print(f"{verb} {upload.url} (upload started {upload.initiated:%Y-%m-%d %H:%M:%S %Z})")
    print(f"{verb} {len(stale)} unfinished upload(s) under {args.prefix}")
    return ExitCode.OK
