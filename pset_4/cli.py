"""``python -m pset_4``: stylize every image x model (x style) pair through the Luigi workflow."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

import luigi

from pset_4.demo import DEMO_IMAGE, DEMO_MODEL, run_demo
from pset_4.scheduling import Scheduler
from pset_4.settings import CACHE_ENV, REMOTE_ENV, THREADS_ENV, threads_per_worker
from pset_4.workflow import Batch, BatchReport, run_batch

log = logging.getLogger("pset_4")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m pset_4",
        description="Stylize images with style models through Luigi. Inputs are read from the remote root "
        "(luigi.cfg [pset_4] remote_root, or $PSET4_REMOTE_ROOT), cached locally, stylized and published "
        "to <remote>/stylized/.",
    )
    parser.add_argument(
        "-i",
        "--image",
        action="append",
        dest="images",
        metavar="NAME",
        help=f"content image under <remote>/images (repeatable; default {DEMO_IMAGE})",
    )
    parser.add_argument(
        "-m",
        "--model",
        action="append",
        dest="models",
        metavar="NAME",
        help=f"model under <remote>/saved_models (repeatable; default {DEMO_MODEL})",
    )
    parser.add_argument(
        "--style",
        action="append",
        dest="styles",
        metavar="STYLE",
        help="style index (e.g. 3) or blend (e.g. 3:0.5,12:0.5) of a multi-style model "
        "(repeatable; fans out like -i/-m)",
    )
    parser.add_argument("--workers", type=int, default=1, help="parallel Luigi workers (default 1)")
    parser.add_argument("--scheduler-host", help="use the central scheduler (luigid) on this host")
    parser.add_argument("--scheduler-port", type=int, help="port of the central scheduler (default 8082)")
    parser.add_argument("--remote", help=f"remote root for this run (overrides luigi.cfg and ${REMOTE_ENV})")
    parser.add_argument(
        "--cache", help=f"local cache folder for this run (overrides luigi.cfg and ${CACHE_ENV})"
    )
    parser.add_argument(
        "--no-publish", action="store_true", help="keep results local, do not copy to the remote"
    )
    parser.add_argument("--no-contact-sheet", action="store_true", help="skip the contact sheet")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="seed the remote with a sample photo and the 26-style model from installed "
        "packages, then stylize it in a few styles",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show Luigi's own log")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the workflow; return 0 if everything succeeded, 1 if a task failed, 2 for a usage error."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(verbose=args.verbose)
    # The roots are process-wide configuration, read by every task (and inherited by worker processes).
    if args.remote:
        os.environ[REMOTE_ENV] = args.remote
    if args.cache:
        os.environ[CACHE_ENV] = args.cache
    if args.workers > 1 and THREADS_ENV not in os.environ:
        # Worker processes on one machine share its cores: each engine oversubscribing them is slower.
        os.environ[THREADS_ENV] = str(threads_per_worker(args.workers))
    scheduler = Scheduler()
    if args.scheduler_host or args.scheduler_port:
        scheduler = Scheduler(host=args.scheduler_host or "localhost", port=args.scheduler_port or 8082)
    options = {
        "workers": args.workers,
        "scheduler": scheduler,
        "log_level": "INFO" if args.verbose else "CRITICAL",
    }
    try:
        if args.workers < 1:
            parser.error(f"--workers must be at least 1, got {args.workers}")
        if args.demo:
            report = run_demo(**options)
        else:
            batch = Batch(
                images=args.images or [DEMO_IMAGE],
                models=args.models or [DEMO_MODEL],
                styles=args.styles or [None],
            )
            report = run_batch(batch, publish=not args.no_publish, sheet=not args.no_contact_sheet, **options)
    except (OSError, ValueError) as err:  # unknown names, bad settings, unreachable or refused storage
        print(f"pset_4: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pset_4: interrupted; finished results are kept, rerun to do the rest", file=sys.stderr)
        return EXIT_INTERRUPTED
    _print_report(report)
    return 0 if report.ok else EXIT_FAILED


def _print_report(report: BatchReport) -> None:
    """Print Luigi's summary, then where the results are and what failed."""
    print(report.summary.strip())
    for path in report.outputs:
        print(f"output: {path}")
    for location in report.published:
        print(f"published: {location}")
    if report.contact_sheet is not None:
        print(f"contact sheet: {report.contact_sheet}")
    for task_id in report.failed:
        print(f"FAILED: {task_id}", file=sys.stderr)


def _configure_logging(*, verbose: bool) -> None:
    """Send progress lines (and Luigi's log if verbose) to stderr; report task failures in one line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("pset_4: %(message)s"))
    package = logging.getLogger("pset_4")
    package.handlers[:] = [handler]
    package.setLevel(logging.DEBUG if verbose else logging.INFO)
    package.propagate = False
    luigi.Task.event_handler(luigi.Event.FAILURE)(_log_failure)


def _log_failure(task: luigi.Task, exception: BaseException) -> None:
    """Say which task failed and why, in one line (the traceback is in Luigi's log with -v)."""
    log.error("failed %s: %s", task, exception)
