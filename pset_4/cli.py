"""``python -m pset_4``: stylize every image x model (x style) pair through the Luigi workflow.

Exit codes (:mod:`csci_utils.exit_codes`): 0 all done; 1 a task failed, a disk filled up, storage broke
mid-run or the central scheduler does not answer; 2 a bad command line or value (a malformed style, a style
the model lacks, --strength outside [0, 1], a name longer than a file name may be); 3 an unknown image,
model or style picture, a glob that matches nothing, a local remote folder that does not exist; 4 a local
photo, video, style picture or model that does not decode or load in full (never uploaded; the others are
still done); 5 a bad setting or refused credentials; 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import luigi

from csci_utils.exit_codes import ExitCode
from csci_utils.io import remove_stale_temp_files
from csci_utils.luigi.locations import join, target_for
from pset_4.batch import BatchReport, resolve_batch
from pset_4.demo import DEMO_IMAGE, DEMO_MODEL, run_demo
from pset_4.inputs import BadInputError
from pset_4.naming import check_length
from pset_4.runtime.scheduling import SchedulerAddress, check_reachable
from pset_4.settings import CACHE_ENV, IMAGES, REMOTE_ENV, WorkflowSettings, configured
from pset_4.waves import run_in_waves

log = logging.getLogger("pset_4")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m pset_4",
        description="Stylize images with style models through Luigi. Inputs are read from the remote root "
        "(luigi.cfg [pset_4] remote_root, or $PSET4_REMOTE_ROOT), cached locally, stylized and published "
        "to <remote>/stylized/.",
        epilog="exit codes: 0 done, 1 a task failed (or disk full, storage broke), 2 bad command line, "
        "3 unknown image, model or style picture (or a glob matching nothing), 4 a local file that does "
        "not decode (never uploaded), 5 bad setting or refused credentials, 130 interrupted",
    )
    parser.add_argument(
        "-i",
        "--image",
        action="append",
        dest="images",
        metavar="NAME|GLOB|PATH",
        help="content image or video under <remote>/images, a quoted glob matched there ('*.jpg'), or a "
        "local file or folder of photos and videos, uploaded to <remote>/images first "
        f"(repeatable; default {DEMO_IMAGE})",
    )
    parser.add_argument(
        "--all-images", action="store_true", help="every image under <remote>/images (with any -i)"
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
    parser.add_argument(
        "--all-styles",
        action="store_true",
        help="every style of each model (26 for the default), to choose from on the contact sheet",
    )
    parser.add_argument(
        "--max-size",
        type=int,
        metavar="N",
        help="videos: shrink frames whose long side exceeds N pixels (default [pset_4_video] max_size, 1920)",
    )
    parser.add_argument(
        "--style-image",
        action="append",
        dest="style_images",
        metavar="NAME|PATH",
        help="any picture as the style: a name under <remote>/style_images or a local file (uploaded "
        "there first); repeatable, one column each, beside any -m/--style columns",
    )
    parser.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="0..1: how much style, for every column (default 1, full style)",
    )
    parser.add_argument(
        "--preserve-color", action="store_true", help="keep each photo's colours (every column)"
    )
    parser.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="tasks at once on this machine (default auto: one per core, as many as the pairs and the free "
        "memory allow)",
    )
    parser.add_argument("--scheduler-host", help="use the central scheduler (luigid) on this host")
    parser.add_argument("--scheduler-port", type=int, help="port of the central scheduler (default 8082)")
    parser.add_argument("--remote", help=f"remote root for this run (overrides luigi.cfg and ${REMOTE_ENV})")
    parser.add_argument(
        "--cache", help=f"local cache folder for this run (overrides luigi.cfg and ${CACHE_ENV})"
    )
    parser.add_argument(
        "--no-publish",
        action="store_true",
        help="keep results local, do not copy to the remote (not with a central scheduler)",
    )
    parser.add_argument("--no-contact-sheet", action="store_true", help="skip the contact sheet")
    parser.add_argument(
        "--fetch",
        action="store_true",
        help="download results (and the sheet) that only the remote has, e.g. made by another machine",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="seed the remote with a sample photo and the 26-style model from installed "
        "packages, then stylize it in a few styles",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document on stdout: every pair with its status, places, version, seconds and "
        "reason, and the contact sheet (messages stay on stderr; same exit codes)",
    )
    parser.add_argument(
        "--no-gallery",
        dest="gallery",
        action="store_false",
        help="do not update <remote>/gallery/index.html, the page of every result on the remote",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show Luigi's own log")
    return parser


def _workers(text: str) -> int | None:
    """Parse ``--workers``: a positive count, or ``auto`` (None: the library's default)."""
    if text == "auto":
        return None
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        msg = f"must be a positive number or 'auto', got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return count


def main(argv: Sequence[str] | None = None) -> int:
    """Run the workflow; return an exit code of :class:`csci_utils.exit_codes.ExitCode`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.max_size is not None and args.max_size < 16:
        parser.error(f"--max-size must be at least 16 pixels, got {args.max_size}")
    if not 0.0 <= args.strength <= 1.0:
        parser.error(f"--strength must be between 0 and 1, got {args.strength}")
    if args.scheduler_port is not None and not 0 < args.scheduler_port < 65536:
        parser.error(f"--scheduler-port must be between 1 and 65535, got {args.scheduler_port}")
    if args.no_publish and (args.scheduler_host or args.scheduler_port):
        parser.error("--no-publish keeps results on this machine; it cannot share a central scheduler")
    _configure_logging(verbose=args.verbose)
    scheduler = SchedulerAddress()
    if args.scheduler_host or args.scheduler_port:
        scheduler = SchedulerAddress(
            host=args.scheduler_host or "localhost", port=args.scheduler_port or 8082
        )
    try:
        # The run's settings, resolved once: the batch and every task of it read these.
        with configured(remote_root=args.remote, cache_root=args.cache, max_size=args.max_size) as settings:
            return _run(args, scheduler, settings)
    except ValueError as err:  # a malformed setting ([pset_4] engine_threads, [pset_4_video], ...)
        return _error(err, ExitCode.CONFIGURATION, as_json=args.json)


def _run(args: argparse.Namespace, scheduler: SchedulerAddress, settings: WorkflowSettings) -> int:
    """Run the batch (or the demo) the parsed ``args`` ask for, print the report, return the exit code."""
    options = {
        "workers": args.workers,
        "scheduler": scheduler,
        "fetch": args.fetch,
        "log_level": "INFO" if args.verbose else "CRITICAL",
        "settings": settings,
    }
    fail = functools.partial(_error, as_json=args.json)
    try:
        _check_roots(settings, demo=args.demo)
        check_reachable(scheduler, settings.scheduler_connect_timeout)
        if args.demo:
            report = run_demo(**options)
        else:
            batch = resolve_batch(
                images=args.images or (),
                all_images=args.all_images,
                models=args.models or (),
                styles=args.styles or (),
                all_styles=args.all_styles,
                style_images=args.style_images or (),
                strength=args.strength,
                preserve_color=args.preserve_color,
                settings=settings,
            )
            report = run_in_waves(
                batch,
                publish=not args.no_publish,
                sheet=not args.no_contact_sheet,
                gallery=args.gallery,
                **options,
            )
    except FileNotFoundError as err:  # an unknown image, model or style picture; a glob matching nothing
        return fail(err, ExitCode.MISSING_INPUT)
    except BadInputError as err:  # every local photo (or every model and style picture) given is unusable
        return fail(err, ExitCode.BAD_INPUT)
    except PermissionError as err:  # credentials missing or refused
        return fail(err, ExitCode.CONFIGURATION)
    except ValueError as err:  # a bad value on the command line (unsafe name, malformed style)
        return fail(err, ExitCode.USAGE)
    except OSError as err:  # storage or the central scheduler unreachable, disk full
        return fail(err, ExitCode.FAILED)
    except KeyboardInterrupt:
        removed = _remove_temp_files(Path(settings.cache_root))
        note = f" (removed {removed} unfinished temp file(s))" if removed else ""
        print(f"pset_4: interrupted; finished results are kept, rerun to do the rest{note}", file=sys.stderr)
        return ExitCode.INTERRUPTED
    code = ExitCode.OK
    if not report.ok:
        code = ExitCode.BAD_INPUT if report.skipped and not report.failed else ExitCode.FAILED
    if args.json:
        print(json.dumps(report_document(report, settings, code), indent=2))
    else:
        _print_report(report, verbose=args.verbose)
    _print_problems(report)
    return code


def _check_roots(settings: WorkflowSettings, *, demo: bool) -> None:
    """Refuse, before any work, a root with a too-long folder name, and a local remote folder that is missing.

    A missing remote would otherwise be made and filled from this machine's cache: a typo would start a new
    remote. The demo is how one starts (it seeds the folder); ``mkdir`` starts an empty one.

    :raises ValueError: a folder name of either root is longer than a file name may be
    :raises FileNotFoundError: the remote is a local folder that does not exist (and ``demo`` is False)
    """
    check_length(settings.cache_root, "cache folder")
    folder = _local_folder(settings.remote_root)
    if folder is None:
        return
    check_length(str(folder), "remote folder")
    if demo or folder.is_dir():
        return
    state = "is not a folder" if folder.exists() else "does not exist"
    demo_command = f"python -m pset_4 --demo --remote {shlex.quote(settings.remote_root)}"
    msg = (
        f"the remote folder {folder} {state}; to start a new remote, run `{demo_command}` "
        f"(a sample photo and model) or `mkdir -p {shlex.quote(str(folder))}`"
    )
    raise FileNotFoundError(msg)


def _local_folder(root: str) -> Path | None:
    """Return the folder a local root (a path or ``file://`` URL) names; None for ``s3://``."""
    scheme = urlsplit(root).scheme.lower()
    if len(scheme) > 1 and scheme != "file":  # one letter is a Windows drive
        return None
    return Path(target_for(join(root, IMAGES)).path).parent


def _error(err: BaseException, code: ExitCode, *, as_json: bool = False) -> int:
    """Print ``err`` in one line (and, ``as_json``, a JSON document saying it on stdout); return ``code``."""
    print(f"pset_4: error: {err}", file=sys.stderr)
    if as_json:
        print(json.dumps({"ok": False, "exit_code": int(code), "error": str(err)}, indent=2))
    return code


def report_document(report: BatchReport, settings: WorkflowSettings, code: ExitCode) -> dict[str, object]:
    """Return what ``--json`` prints: every pair of the batch with its status and places, and the sheet."""
    return {
        "ok": report.ok,
        "exit_code": int(code),
        "remote": settings.remote_root,
        "cache": settings.cache_root,
        "results": [
            {
                **result.params,
                "status": result.status,
                "local": result.local,
                "remote": result.remote,
                "version": result.version,
                "seconds": result.seconds,
                "reason": result.reason,
            }
            for result in report.results
        ],
        "contact_sheet": report.contact_sheet,
        "gallery": report.gallery,
        "uploaded": report.uploaded,
        "skipped": report.skipped,
        "done_before": report.done_before,
    }


def _remove_temp_files(cache: Path) -> int:
    """Remove the hidden temp files interrupted writers left in ``cache``; return how many."""
    if not cache.is_dir():
        return 0
    try:
        return len(remove_stale_temp_files(cache, older_than=0.0, recursive=True))
    except OSError as err:
        log.warning("could not clean temp files in %s: %s", cache, err)
        return 0


def _print_report(report: BatchReport, *, verbose: bool) -> None:
    """Print a success line (Luigi's summary if something failed), where the results are, what failed."""
    if report.ok and not verbose:
        total = len(report.published) or len(report.outputs) + len(report.remote_only)
        print(f"pset_4: done: {total} result(s), {report.done_before} of them already done before this run")
    else:
        print(report.summary.strip())
    for path in report.outputs:
        print(f"output: {path}")
    for location in report.published:
        print(f"published: {location}")
    for location in report.remote_only:
        print(f"remote only: {location} (--fetch downloads it)")
    for line in report.uploaded:
        print(f"uploaded: {line}")
    if report.contact_sheet is not None:
        print(f"contact sheet: {report.contact_sheet}")
    if report.gallery is not None:
        print(f"gallery: {report.gallery}")


def _print_problems(report: BatchReport) -> None:
    """Print, on stderr, each input skipped and each task failed, with the reason."""
    for path, why in report.skipped.items():
        print(f"SKIPPED: {path}", file=sys.stderr)
        print(f"  reason: {why}", file=sys.stderr)
    for task_id in report.failed:
        print(f"FAILED: {task_id}", file=sys.stderr)
        reason = report.reasons.get(task_id)
        if reason:
            print(f"  reason: {reason}", file=sys.stderr)


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
    """Say which task failed and why, in one line (the traceback is in Luigi's log with -v).

    Not for an unusable input: the report lists each once, however many results needed it.
    """
    from pset_4.failures import input_failure

    if input_failure(task, exception) is None:
        log.error("failed %s: %s", task, exception)
