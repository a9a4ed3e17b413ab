"""Unusable inputs are final for a batch: a task that fails on one is attempted once, on one machine.

An input error (a :class:`neural_style.errors.NeuralStyleError` that names one of the task's inputs: a photo
that does not decode, a model that does not load, a clip that does not demux) fails the same way on every
machine and at every retry. Luigi would still try it again: the scheduler makes a failed task pending after
``retry_delay``, and a machine that joins the batch later asks for it again. So the attempt that fails
records it on the remote, ``<remote>/failures/<the task's output path under the remote>.json`` (the input
and the reason, written atomically), and the workflow's workers (:mod:`pset_4.runtime.workers`, given
:func:`final_reason`) never run a task whose failure the scheduler remembers and the remote has recorded:
they report the recorded reason instead, and the scheduler stops offering the task. Every machine's report
lists the input once, with the reason, and exits 4 (:mod:`pset_4.workflow`).

Final for the batch, not for ever: a record counts only while the scheduler remembers the failure (the
local scheduler: one build; ``luigid``: until it drops the task, ``remove_delay`` after the batch's last
worker left), so a later batch tries once more. A fixed input is a new version, so a new output name with
no record: it is never blocked. Errors that name no input (a storage cut, a killed worker, a result that
did not write in full) are not recorded and keep Luigi's retry and takeover.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import luigi
import luigi.task
from luigi.target import FileSystemTarget

from csci_utils.luigi.locations import join, target_for
from neural_style.errors import NeuralStyleError
from pset_4.settings import current_settings
from pset_4.tasks.data import RemoteInput

__all__ = [
    "FAILURES",
    "ExplainsFailures",
    "InputFailure",
    "final_reason",
    "input_failure",
    "record_input_failure",
    "recorded_failure",
]

log = logging.getLogger(__name__)

FAILURES = "failures"


@dataclass(frozen=True)
class InputFailure:
    """An input a task cannot use: its remote location, and why (one line that names the remote copy)."""

    input: str
    reason: str


def input_failure(task: luigi.Task, error: BaseException) -> InputFailure | None:
    """Return the input ``error`` says ``task`` cannot use, or None if it is no input error.

    The engine names the file it read, which is this machine's copy of a remote input; the reason names the
    remote object instead, which is what the user knows and what every machine shares.
    """
    if not isinstance(error, NeuralStyleError):
        return None
    try:
        dependencies = luigi.task.flatten(task.requires())
    except Exception:  # e.g. a video's plan unreadable now: then the failure is not known to be final
        return None
    text = " ".join(str(error).split())
    for dependency in dependencies:
        if not isinstance(dependency, RemoteInput):
            continue
        remote = str(dependency.output().path)
        cached = dependency.cached_location()
        for named in dict.fromkeys((str(Path(cached).resolve()), str(Path(cached).absolute()), cached)):
            if named in text:
                return InputFailure(input=remote, reason=text.replace(named, remote))
    return None  # e.g. a result that did not decode in full: the disk, not an input


def record_location(task: luigi.Task) -> FileSystemTarget | None:
    """Return where an input error of ``task`` is recorded: its output's path, under ``<root>/failures``.

    The root is the remote for a published output (every machine sees the record), the cache for one kept
    on this machine (``--no-publish``). The output's name is versioned by its inputs' contents, so a fixed
    input never finds the old record. None for a task whose output is not one file under either root.
    """
    outputs = luigi.task.flatten(task.output())
    if len(outputs) != 1:
        return None
    path = str(outputs[0].path)
    settings = current_settings()
    for root in (settings.remote_root, settings.cache_root):
        marker = join(root, FAILURES)
        prefix = str(target_for(marker).path)[: -len(FAILURES)]  # the root as its targets spell it
        if path.startswith(prefix) and len(path) > len(prefix):
            return target_for(join(marker, f"{path[len(prefix) :]}.json"))
    return None


def record_input_failure(task: luigi.Task, error: BaseException) -> InputFailure | None:
    """Record on the remote that ``task`` failed on an unusable input; return it (None: no input error).

    A record that cannot be written (another machine wrote it first, the storage broke too) is logged: this
    runs while Luigi reports the task's own error, which it must not replace.
    """
    failure = input_failure(task, error)
    if failure is None:
        return None
    try:
        target = record_location(task)
        if target is not None and not target.exists():
            with target.open("w") as f:
                json.dump({"input": failure.input, "reason": failure.reason}, f)
    except Exception as err:  # FileAlreadyExists, OSError, botocore's errors: recording is best effort
        log.debug("could not record the failure of %s: %s", task, err)
    return failure


def recorded_failure(task: luigi.Task) -> InputFailure | None:
    """Return the input failure recorded for ``task``'s output as it is named now, or None."""
    try:
        target = record_location(task)
        if target is None or not target.exists():
            return None
        with target.open("r") as f:
            content = json.load(f)
        return InputFailure(input=str(content["input"]), reason=str(content["reason"]))
    except Exception as err:  # unreadable (storage, a torn record): as if there were none, so the task runs
        log.debug("no usable failure record for %s: %s", task, err)
        return None


def final_reason(task: luigi.Task) -> str | None:
    """Return why ``task`` failed for good on an input, as recorded on the remote (None: no record)."""
    failure = recorded_failure(task)
    return None if failure is None else failure.reason


class ExplainsFailures:
    """A task's failure in one line: an unusable input's recorded reason, or :meth:`failure_line`'s.

    Mixed into the stylize and video tasks: an unusable input is recorded (see the module) so that this batch
    does not try the task again, and the reason names the remote input.
    """

    def on_failure(self, exception: BaseException) -> str:
        """Record an unusable input and return why; else the task's one line, else Luigi's own text."""
        failure = record_input_failure(self, exception)
        if failure is not None:
            return failure.reason
        line = self.failure_line(exception)
        return line if line is not None else str(luigi.Task.on_failure(self, exception))

    def failure_line(self, exception: BaseException) -> str | None:
        """Return why the task failed, in one line, when ``exception`` is a user's mistake; else None."""
        return None
