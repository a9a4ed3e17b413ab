"""Run a batch of stylizations through Luigi: check inputs, sync them up, stylize and publish, summarize."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

import luigi

from csci_utils.luigi.copy import copy_target
from csci_utils.luigi.locations import join, target_for
from pset_4 import render
from pset_4.batch import Batch, BatchReport, PairResult
from pset_4.failures import InputFailure, final_reason, recorded_failure
from pset_4.inputs import remote_names
from pset_4.progress import batch_progress
from pset_4.runtime.scheduling import SUCCEEDED, SchedulerAddress, build, run_tasks
from pset_4.settings import (
    IMAGES,
    MODELS,
    STYLE_IMAGES,
    WorkflowSettings,
    current_settings,
    default_workers,
    run_settings,
)
from pset_4.style_counts import check_style_indices
from pset_4.tasks.contact_sheet import ContactSheet
from pset_4.tasks.data import UploadImage, UploadModel, UploadStyleImage
from pset_4.tasks.gallery import gallery_page
from pset_4.tasks.stylize import StylizeBase
from pset_4.tasks.video import VideoPlan

log = logging.getLogger(__name__)


def check_inputs(batch: Batch, settings: WorkflowSettings) -> None:
    """Raise FileNotFoundError, listing the remote, for an input neither the remote nor the cache has."""
    kinds = (
        (IMAGES, batch.images, "image"),
        (MODELS, batch.models, "model"),
        (STYLE_IMAGES, batch.style_images, "style image"),
    )
    for folder, names, what in kinds:
        if not names:
            continue
        have = remote_names(settings, folder)
        local = batch.uploads.get(folder, {})
        for name in names:
            if name in have or name in local or Path(settings.cache_root, folder, name).is_file():
                continue
            listing = ", ".join(have) if have else "nothing; `python -m pset_4 --demo` seeds a sample"
            msg = f"no {what} {name!r} in {join(settings.remote_root, folder)} (it has: {listing})"
            raise FileNotFoundError(msg)


def upload_tasks(batch: Batch, settings: WorkflowSettings) -> list[luigi.Task]:
    """Return the Up of Up/Down: an upload per local input given and per input the cache has.

    Each is a no-op where the remote has the name already (Luigi skips a complete task).
    """
    return [
        *_uploads(batch, settings, IMAGES, batch.images, lambda n, s: UploadImage(image=n, source=s)),
        *_uploads(batch, settings, MODELS, batch.models, lambda n, s: UploadModel(model=n, source=s)),
        *_uploads(
            batch,
            settings,
            STYLE_IMAGES,
            batch.style_images,
            lambda n, s: UploadStyleImage(style_image=n, source=s),
        ),
    ]


def _uploads(
    batch: Batch,
    settings: WorkflowSettings,
    folder: str,
    names: Sequence[str],
    upload: Callable[[str, str | None], luigi.Task],
) -> list[luigi.Task]:
    """Return ``upload(name, local path)`` of each name given as a local file or that only the cache has."""
    given = batch.uploads.get(folder, {})
    return [
        upload(name, given.get(name))
        for name in dict.fromkeys(names)
        if name in given or Path(settings.cache_root, folder, name).is_file()
    ]


def _upload(tasks: Sequence[luigi.Task], log_level: str) -> tuple[list[str], BatchReport | None]:
    """Run the uploads the remote needs with this machine's own scheduler; say each one.

    Returns the ``source -> remote`` lines of what was uploaded, and a failed report if an upload failed.
    """
    needed = [task for task in tasks if not task.complete()]
    lines = [f"{task.input().path} -> {task.output().path}" for task in needed]
    for line in lines:
        log.info("uploading %s", line)
    if not needed:
        return lines, None
    # Uploads read this machine's files: they run with this machine's own scheduler, never a shared one.
    up = build(needed, workers=1, scheduler=SchedulerAddress(), log_level=log_level)
    if up.status in SUCCEEDED:
        return lines, None
    failed = [str(t) for t in needed if not t.complete()]
    return lines, BatchReport(ok=False, summary=up.summary_text, failed=failed)


def _fetch_models(tasks: Sequence[StylizeBase]) -> list[Path]:
    """Return this machine's copies of the models that pending ``tasks`` use, downloading missing ones."""
    first_pending: dict[str, StylizeBase] = {}
    for task in tasks:
        if task.style_image:
            continue  # a style-picture task loads no model
        if task.model not in first_pending and not task.complete():
            first_pending[task.model] = task
    paths: list[Path] = []
    for task in first_pending.values():
        try:
            paths.append(Path(task.cached_inputs(task.versions())["model"]))
        except (OSError, ValueError) as err:  # the task itself fails with this reason later
            log.debug("not preloading %s: %s", task.model, err)
    return paths


def run_batch(
    batch: Batch,
    *,
    workers: int | None = None,
    scheduler: SchedulerAddress | None = None,
    publish: bool = True,
    sheet: bool = True,
    fetch: bool = False,
    log_level: str = "WARNING",
    settings: WorkflowSettings | None = None,
    gallery: bool = True,
) -> BatchReport:
    """Stylize every pair of ``batch``; return where the results are and whether everything succeeded.

    Published batches then bring the remote's gallery page up to date (``gallery``; :mod:`pset_4.gallery`).

    Inputs missing everywhere fail fast (FileNotFoundError listing the remote). Failed pairs do not stop the
    others; they are listed in the report with the scheduler's reason and ``ok`` is False. Results another
    machine made are listed by their remote location; ``fetch`` downloads them into this machine's cache.
    ``settings`` (default: resolved now, :mod:`pset_4.settings`) are this run's, split between ``workers``
    (default: :func:`~pset_4.settings.default_workers` for the batch); every task of the run reads them.

    :raises ValueError: ``publish=False`` with a central scheduler (a local result is not shareable)
    """
    scheduler = scheduler or SchedulerAddress()
    if not publish and scheduler.central:
        msg = "--no-publish keeps results on this machine, so it cannot share a central scheduler"
        raise ValueError(msg)
    if workers is None:
        workers = default_workers(len(batch.params()))
    settings = (settings or current_settings()).for_workers(workers)
    with run_settings(settings):
        return _run(
            batch,
            settings,
            workers=workers,
            scheduler=scheduler,
            publish=publish,
            sheet=sheet,
            fetch=fetch,
            log_level=log_level,
            gallery=gallery and publish,
        )


def _run(
    batch: Batch,
    settings: WorkflowSettings,
    *,
    workers: int,
    scheduler: SchedulerAddress,
    publish: bool,
    sheet: bool,
    fetch: bool,
    log_level: str,
    gallery: bool,
) -> BatchReport:
    """Run ``batch`` with ``settings`` installed (see :func:`run_batch`)."""
    check_inputs(batch, settings)
    check_style_indices(batch.model_columns(), settings)
    uploaded, failed_upload = _upload(upload_tasks(batch, settings), log_level)
    if failed_upload is not None:
        failed_upload.uploaded, failed_upload.skipped = uploaded, dict(batch.skipped)
        return failed_upload
    every = batch.tasks(publish=publish)
    unreadable = plan_videos(batch, workers=workers, scheduler=scheduler, log_level=log_level)
    stylize = [task for task in every if task.image not in unreadable]
    pending = [task for task in stylize if not task.complete()]
    done_before = len(stylize) - len(pending)
    log.info("%d to do, %d already done, %d worker(s)", len(stylize) - done_before, done_before, workers)
    wanted: list[luigi.Task] = list(stylize)
    shown = [p for p in batch.params() if p["image"] not in unreadable]
    sheet_task = ContactSheet(pairs=shown, publish=publish) if sheet and shown else None
    if sheet_task is not None:
        wanted.append(sheet_task)
    if workers > 1 and done_before < len(stylize):
        # Fetch and load the models once here, cores split between the workers: the task threads share
        # them (pset_4.runtime.workers), and any task process Luigi forks inherits them (pset_4.render).
        render.preload(_fetch_models(stylize), threads=settings.engine_threads)
        if batch.videos():
            importlib.import_module("neural_style.video.segments")  # PyAV and OpenCV, imported once
    with batch_progress(pending):
        outcome = run_tasks(
            wanted, workers=workers, scheduler=scheduler, log_level=log_level, final_failure=final_reason
        )
    # Success is judged by the outputs, not the worker's own status: with a central scheduler another
    # worker may have done some of this batch.
    report = BatchReport(
        ok=True,
        summary=outcome.result.summary_text,
        done_before=done_before,
        uploaded=uploaded,
        skipped=dict(batch.skipped),
    )
    bad_videos = {video: recorded_failure(VideoPlan(video=video)) for video in unreadable}
    made_now = {task.task_id for task in pending}
    for task in every:
        if task.image in unreadable:
            _add_failure(report, task, unreadable[task.image], bad_videos[task.image])
            continue
        if not task.complete():
            reason = outcome.reasons.get(task.task_id) or _dependency_reason(task, outcome.reasons)
            _add_failure(report, task, reason, _input_failure(task, outcome.reasons))
            continue
        local = task.cached_output()
        remote = task.output().path if publish else None
        if remote is not None:
            report.published.append(remote)
        if local.exists():
            report.outputs.append(local.path)
            status = "done" if task.task_id in made_now else "already done"
        else:
            report.remote_only.append(task.output().path)
            status = "remote only"
        report.results.append(
            _pair_result(task, status, local=local.path if local.exists() else None, remote=remote)
        )
    if sheet_task is not None:
        report.contact_sheet = _sheet_location(sheet_task)
        if report.contact_sheet is None and not report.failed and not report.unusable:
            report.failed.append(str(sheet_task))
            report.reasons[str(sheet_task)] = outcome.reasons.get(sheet_task.task_id, "not drawn")
    if fetch:
        fetch_results(report, stylize, sheet_task)
    if gallery:
        update_gallery(report, workers=workers, scheduler=scheduler, log_level=log_level)
    report.ok = not report.failed and not report.skipped
    return report


def publish_gallery(
    report: BatchReport,
    settings: WorkflowSettings,
    *,
    workers: int,
    scheduler: SchedulerAddress,
    log_level: str,
) -> None:
    """Bring the remote's gallery page up to date with ``settings`` installed (see :func:`update_gallery`)."""
    with run_settings(settings.for_workers(workers)):
        update_gallery(report, workers=workers, scheduler=scheduler, log_level=log_level)


def update_gallery(report: BatchReport, *, workers: int, scheduler: SchedulerAddress, log_level: str) -> None:
    """Bring ``<remote>/gallery/index.html`` up to date; note where it is (or why not) in ``report``."""
    try:
        page = gallery_page()
    except OSError as err:  # the remote could not be listed
        report.failed.append("gallery")
        report.reasons["gallery"] = str(err)
        return
    if not page.complete():
        outcome = run_tasks([page], workers=workers, scheduler=scheduler, log_level=log_level)
        if not page.complete():
            report.failed.append(str(page))
            report.reasons[str(page)] = outcome.reasons.get(page.task_id) or _dependency_reason(
                page, outcome.reasons
            )
            return
    report.gallery = str(page.output().path)


def plan_videos(batch: Batch, *, workers: int, scheduler: SchedulerAddress, log_level: str) -> dict[str, str]:
    """Plan the batch's videos' segments (on the remote); return each unreadable video with the reason.

    Plans run first so that every worker, and every machine sharing the scheduler, sees a video's
    segments when it schedules the batch. A bad video (not a video, no frames, truncated, unknown codec)
    is left out of the rest of the batch, which is still done.
    """
    plans = [plan for plan in (VideoPlan(video=v) for v in batch.videos()) if not plan.complete()]
    if not plans:
        return {}
    outcome = run_tasks(
        plans, workers=workers, scheduler=scheduler, log_level=log_level, final_failure=final_reason
    )
    return {
        plan.video: outcome.reasons.get(plan.task_id) or f"{plan.video} could not be planned"
        for plan in plans
        if not plan.complete()
    }


def fetch_results(report: BatchReport, tasks: Sequence[StylizeBase], sheet: ContactSheet | None) -> None:
    """Download the results (and the sheet) that only the remote has into this machine's cache."""
    for task in tasks:
        if task.output().path not in report.remote_only:
            continue
        local = task.cached_output()
        try:
            copy_target(task.output(), local)
        except OSError as err:
            report.failed.append(f"fetch {task.output().path}")
            report.reasons[f"fetch {task.output().path}"] = str(err)
            continue
        report.remote_only.remove(task.output().path)
        report.outputs.append(local.path)
        for result in report.results:
            if result.remote == task.output().path and result.status == "remote only":
                result.status, result.local = "already done", local.path
    if sheet is not None and sheet.publish and sheet.complete() and not sheet.cached_output().exists():
        try:
            copy_target(sheet.output(), target_for(sheet.cached_output().as_posix(), binary=True))
        except OSError as err:
            report.failed.append(f"fetch {sheet.output().path}")
            report.reasons[f"fetch {sheet.output().path}"] = str(err)
            return
        report.contact_sheet = sheet.cached_output().as_posix()


def _sheet_location(sheet: ContactSheet) -> str | None:
    """Return this machine's copy of the sheet if it has one, else the published one; None if not drawn."""
    if sheet.cached_output().exists():
        return sheet.cached_output().as_posix()
    if sheet.complete():
        return str(sheet.output().path)
    return None


def _add_failure(report: BatchReport, task: StylizeBase, reason: str, failure: InputFailure | None) -> None:
    """List a result not made: under its unusable input (once per input), else as failed, with the reason."""
    if failure is not None:
        report.unusable.append(str(task))
        report.skipped.setdefault(failure.input, failure.reason)
        report.results.append(_pair_result(task, "skipped", reason=failure.reason))
        return
    report.failed.append(str(task))
    if reason:
        report.reasons[str(task)] = reason
    report.results.append(_pair_result(task, "failed", reason=reason or "not made"))


def _pair_result(
    task: StylizeBase,
    status: str,
    *,
    local: str | None = None,
    remote: str | None = None,
    reason: str | None = None,
) -> PairResult:
    """Return the report's line for ``task``'s result: its parameters, ``status`` and where it is."""
    name = PurePosixPath(local or remote or "")
    return PairResult(
        params={
            "image": task.image,
            "model": None if task.style_image else task.model,
            "style": task.style,
            "style_image": task.style_image,
            "strength": task.strength,
            "preserve_color": task.preserve_color,
        },
        status=status,
        local=local,
        remote=remote,
        version=name.stem.rpartition("--")[2] if name.name else None,
        seconds=task.__dict__.get(_SECONDS),
        reason=reason,
    )


# Where a stylize task keeps how long it ran on this machine (set by Luigi's PROCESSING_TIME event).
_SECONDS = "_pset4_seconds"


def _remember_seconds(task: StylizeBase, seconds: float) -> None:
    """Keep how long ``task`` ran on the task itself, for the report."""
    task.__dict__[_SECONDS] = round(seconds, 3)


StylizeBase.event_handler(luigi.Event.PROCESSING_TIME)(_remember_seconds)


def _input_failure(task: luigi.Task, reasons: dict[str, str]) -> InputFailure | None:
    """Return the unusable input recorded for ``task`` (or a requirement) in this batch, or None.

    Only a failure the scheduler reported in this batch counts (see :mod:`pset_4.failures`).
    """
    for candidate in [task, *luigi.task.flatten(task.requires())]:
        if candidate.task_id in reasons:
            failure = recorded_failure(candidate)
            if failure is not None:
                return failure
    return None


def _dependency_reason(task: luigi.Task, reasons: dict[str, str]) -> str:
    """Return the reason a requirement of ``task`` failed, if the scheduler gave one."""
    for dependency in luigi.task.flatten(task.requires()):
        if dependency.task_id in reasons:
            return reasons[dependency.task_id]
        if not dependency.complete():
            return f"{dependency} is missing"
    return ""
