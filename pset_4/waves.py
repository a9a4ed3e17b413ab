"""Run a large batch as consecutive waves of a few photos each: Luigi's cost per task then stays flat.

Luigi's scheduler walks every pending task of a worker on each ``get_work`` (``count_pending``, the rank
sort, ``prune``), so one ``luigi.build`` of N tasks costs O(N) per task and O(N^2) in all; a central luigid
shared by many machines pays the same per pending task. Splitting the batch by photo into waves of about
:data:`WAVE_PAIRS` pairs bounds the pending set (and luigid's memory) by the wave, not the batch. Waves go one
after another; a photo's styles stay in one wave, so each photo is downloaded once. Luigi's cache of task
instances is cleared after each wave (it would otherwise hold every task of the batch).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from pset_4.batch import Batch, BatchReport
from pset_4.runtime.registry import forget_task_instances
from pset_4.runtime.scheduling import SchedulerAddress
from pset_4.settings import WorkflowSettings, current_settings, default_workers
from pset_4.workflow import publish_gallery, run_batch

log = logging.getLogger(__name__)

# Pairs per wave: small enough that the scheduler's share per task stays near a 100-task batch's
# (docs/performance.md), large enough that waves rarely wait on each other.
WAVE_PAIRS = 104


def waves(batch: Batch, wave_pairs: int = WAVE_PAIRS) -> list[Batch]:
    """Split ``batch`` by photo into consecutive batches of at most ``wave_pairs`` pairs (>= 1 photo each)."""
    if wave_pairs < 1:
        msg = f"wave_pairs must be at least 1, got {wave_pairs}"
        raise ValueError(msg)
    images = list(dict.fromkeys(batch.images))
    per_photo = len(batch.columns())
    step = max(1, wave_pairs // per_photo)
    # replace() keeps the batch's other fields (style pictures, strength, colour, local uploads).
    return [dataclasses.replace(batch, images=images[i : i + step]) for i in range(0, len(images), step)]


def run_in_waves(
    batch: Batch,
    *,
    wave_pairs: int = WAVE_PAIRS,
    sheet: bool = True,
    publish: bool = True,
    gallery: bool = True,
    settings: WorkflowSettings | None = None,
    **options: Any,
) -> BatchReport:
    """Run ``batch`` wave after wave with :func:`run_batch` (same options); return one report for it all.

    A failed pair does not stop later waves; the report lists every failure and ``ok`` is False then.
    The contact sheet, if wanted, is drawn once at the end for the whole batch, when every pair is done.
    Every wave runs with the same ``settings`` (default: resolved once, now) and the same ``workers``
    (default: :func:`~pset_4.settings.default_workers` for the whole batch).
    """
    options["settings"] = settings or current_settings()
    if options.get("workers") is None:  # one count for every wave, from the whole batch
        options["workers"] = default_workers(len(batch.params()))
    planned = waves(batch, wave_pairs)
    if len(planned) == 1:
        return run_batch(batch, sheet=sheet, publish=publish, gallery=gallery, **options)
    merged = BatchReport(ok=True, summary="")
    summaries = []
    for number, wave in enumerate(planned, start=1):
        log.info("wave %d: %d photo(s)", number, len(wave.images))
        report = run_batch(wave, sheet=False, publish=publish, gallery=False, **options)
        forget_task_instances()  # Luigi's cache would otherwise hold every task of the batch
        merged.ok = merged.ok and report.ok
        summaries.append(report.summary)
        merged.outputs += report.outputs
        merged.published += report.published
        merged.failed += report.failed
        merged.remote_only += report.remote_only
        merged.reasons.update(report.reasons)
        merged.done_before += report.done_before
        merged.uploaded += report.uploaded
        merged.skipped.update(report.skipped)
        merged.unusable += report.unusable
        merged.results += report.results
    if sheet and not merged.failed and not merged.unusable:
        # Every pair is done by now: this last build only draws the sheet. (With a failed pair there is no
        # sheet, as in one build: the sheet needs every result, and a second try would redo the failure; an
        # unusable input's failure is final only for the build that found it, pset_4.failures.)
        report = run_batch(batch, sheet=True, publish=publish, gallery=False, **options)
        merged.contact_sheet = report.contact_sheet
        merged.ok = merged.ok and report.ok
        merged.failed += [task for task in report.failed if task not in merged.failed]
        summaries.append(report.summary)
    if gallery and publish:
        publish_gallery(
            merged,
            options["settings"],
            workers=options["workers"],
            scheduler=options.get("scheduler") or SchedulerAddress(),
            log_level=options.get("log_level", "WARNING"),
        )
        merged.ok = not merged.failed and not merged.skipped
    merged.summary = "\n".join(summaries)
    return merged
