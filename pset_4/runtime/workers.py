"""Luigi workers whose task "processes" are threads of the worker process: ``--workers N`` without forks.

Luigi's stock worker forks one process per task when ``workers > 1``. Each fork copies the page tables of a
parent that holds the loaded models, and each child faults in ONNX Runtime's arena again before its first
pass, so on two cores two forked workers ran slower than one (docs/scaling.md). Here every task runs on a
thread of this process instead: the model loaded once (:mod:`pset_4.render`) serves every thread with its
arena warm, and one task's downloads, decoding, encoding and publishing overlap another's network pass
(ONNX Runtime, Pillow's codecs and file I/O release the GIL).

Everything else is Luigi's own: the scheduler (local or luigid), the worker's loop, ``luigi.build``, the
result queue, heartbeats, the summary. A :class:`TaskThread` offers what that loop asks of a task process
(``start``, ``is_alive``, ``exitcode``, ``terminate``, ``join``). Two kinds of task still get a forked
process, as with the stock worker: one with a timeout (``[worker] timeout`` or ``worker_timeout``), so
that the timeout can end it however long an engine call takes, and every task when luigi.cfg says
``[worker] force_multiprocessing = true`` (crash isolation per task, at the old speed).

A worker given ``final_failure`` never runs a task twice in one batch for a failure that is final (an
unusable input, :mod:`pset_4.failures`): a task whose failure the scheduler remembers and ``final_failure``
explains is reported failed with that reason instead of run, and a task that fails so is disabled in the
scheduler, which would otherwise offer it again after ``retry_delay``. The private hooks overridden here are
listed in :mod:`pset_4.runtime`.
"""

from __future__ import annotations

import ctypes
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import luigi
import luigi.worker
from luigi.scheduler import DISABLED, FAILED

from pset_4.runtime.interrupts import raise_if_interrupted

log = logging.getLogger(__name__)

# How long terminate() waits for a task thread to reach its next Python statement (an engine call in
# flight cannot be cut short; the longest one, a 1024 px photo on one thread, takes a few seconds).
STOP_WAIT_S = 30.0

FinalFailure = Callable[[luigi.Task], "str | None"]
"""Why a task's failure is final for the batch (the reason to report), or None: it may be tried again."""


class TaskThread(luigi.worker.ContextManagedTaskProcess):
    """Luigi's task process, run on a daemon thread of the worker process instead of a forked child.

    ``run()`` is Luigi's, unchanged: it checks the dependencies, runs the task, fires its events and puts
    the result on the worker's queue in a ``finally``, whatever happens. ``terminate()`` raises
    KeyboardInterrupt in the thread (as Ctrl-C would in a forked child), so the task's context managers
    remove their temp files, and waits for the thread to end.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._thread: threading.Thread | None = None
        self._exit: int | None = None

    def start(self) -> None:
        """Run the task on a new daemon thread (Luigi calls this instead of forking)."""
        self._thread = threading.Thread(
            target=self._run_here, name=f"pset_4 {self.task.task_id}", daemon=True
        )
        self._thread.start()

    def _run_here(self) -> None:
        """Run the task; record 0, or 1 if something escaped Luigi's ``run`` (an interrupt)."""
        try:
            self.run()
        except BaseException:  # KeyboardInterrupt from terminate(); the result is on the queue already
            self._exit = 1
        else:
            self._exit = 0

    def is_alive(self) -> bool:
        """Whether the task's thread is still running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def exitcode(self) -> int | None:
        """None while running; then 0, or 1 when the thread was interrupted (Luigi's "died" check)."""
        return None if self.is_alive() else self._exit

    def join(self, timeout: float | None = None) -> None:
        """Wait for the task's thread to end (at most ``timeout`` seconds)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def terminate(self) -> None:
        """Interrupt the task at its next Python statement and wait up to :data:`STOP_WAIT_S` for it."""
        thread = self._thread
        if thread is None or not thread.is_alive() or thread.ident is None:
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(KeyboardInterrupt)
        )
        started = time.monotonic()
        thread.join(STOP_WAIT_S)
        if thread.is_alive():
            log.warning("%s did not stop within %.0f s", self.task, STOP_WAIT_S)
        else:
            log.debug("stopped %s in %.2f s", self.task, time.monotonic() - started)


class ThreadedWorker(luigi.worker.Worker):
    """Luigi's worker with tasks on threads of this process (see the module docstring for when not).

    It also stops at its next turn after a Ctrl-C that Luigi swallowed (:mod:`pset_4.runtime.interrupts`).
    """

    def __init__(self, *args: Any, final_failure: FinalFailure | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._final_reason = final_failure

    def _get_work(self) -> Any:
        raise_if_interrupted()
        return super()._get_work()

    def _handle_next_task(self) -> None:
        raise_if_interrupted()
        super()._handle_next_task()

    def _run_task(self, task_id: str) -> None:
        task = self._scheduled_tasks.get(task_id)
        reason = None
        if task is not None and task_id not in self._running_tasks:
            reason = self._failed_for_good(task)
        if reason is None:
            super()._run_task(task_id)
            return
        log.debug("not running %s again in this batch: %s", task, reason)
        # What Luigi sends for a task that failed (Worker._handle_next_task), with the recorded reason.
        self._add_task(
            worker=self._id,
            task_id=task_id,
            status=FAILED,
            expl=json.dumps(reason),
            resources=task.process_resources(),
            runnable=None,
            params=task.to_str_params(),
            family=task.task_family,
            module=task.task_module,
            new_deps=[],
            assistant=self._assistant,
        )
        self.run_succeeded = False

    def _add_task(self, *args: Any, **kwargs: Any) -> None:
        super()._add_task(*args, **kwargs)
        if kwargs.get("status") != FAILED or self._final_reason is None:
            return
        task = self._scheduled_tasks.get(kwargs["task_id"])
        if task is None or self._final_reason(task) is None:
            return
        # A failed task is pending again after retry_delay; a disabled one only when a worker adds it anew
        # (a machine joining the batch), and that worker's _run_task reports the record instead.
        self._scheduler.add_task(
            worker=self._id,
            task_id=task.task_id,
            status=DISABLED,
            runnable=False,
            expl=kwargs.get("expl"),
            assistant=self._assistant,
        )

    def _failed_for_good(self, task: luigi.Task) -> str | None:
        """Return why ``task`` failed for good in this batch (the scheduler and ``final_failure`` agree)."""
        if self._final_reason is None:
            return None
        try:
            error = self._scheduler.fetch_error(task.task_id).get("error")
        except Exception:  # a lost scheduler: the task runs, and fails or succeeds on its own
            return None
        return self._final_reason(task) if error else None

    def _create_task_process(self, task: luigi.Task) -> luigi.worker.TaskProcess:
        process = super()._create_task_process(task)
        if not process.use_multiprocessing or process.timeout_time is not None:
            return process  # one worker runs tasks in this process anyway; a timeout needs a process
        if self._config.force_multiprocessing:
            return process
        # The same arguments as Luigi's own (worker.py, Worker._create_task_process).
        return TaskThread(
            self._config.task_process_context,
            task,
            self._id,
            self._task_result_queue,
            process.status_reporter,
            use_multiprocessing=True,
            worker_timeout=self._config.timeout,
            check_unfulfilled_deps=self._config.check_unfulfilled_deps,
            check_complete_on_run=self._config.check_complete_on_run,
            task_completion_cache=self._task_completion_cache,
        )


class SharingWorker(ThreadedWorker):
    """A worker that waits while other workers run tasks it needs, then finishes the rest itself.

    Luigi's stock worker quits as soon as the scheduler has nothing for it right now, so a second worker
    on a shared batch could exit while the first still runs tasks it depends on; with ``keep_alive`` it would
    instead wait forever behind a failed task. This one stays while some task it needs is running elsewhere,
    and, when such a task stops running unfinished with no explanation (its worker died: the scheduler fails
    it once the heartbeat stops), for ``handoff_wait_s`` more, so that it takes the task over once the
    scheduler's ``retry_delay`` makes it pending again.
    """

    def __init__(self, *args: Any, handoff_wait_s: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handoff_wait_s = handoff_wait_s
        self._running_elsewhere: set[str] = set()
        self._wait_until = 0.0

    def _keep_alive(self, get_work_response: Any) -> bool:
        running = {str(info.get("task_id")) for info in get_work_response.running_tasks or []}
        stopped = self._running_elsewhere - running
        self._running_elsewhere = running
        if any(self._orphaned(task_id) for task_id in stopped):
            self._wait_until = time.monotonic() + self._handoff_wait_s
        return bool(running) or time.monotonic() < self._wait_until

    def _orphaned(self, task_id: str) -> bool:
        """Whether ``task_id`` stopped running unfinished without an explanation (its worker died)."""
        task = self._scheduled_tasks.get(task_id)
        if task is None or task.complete():
            return False
        try:
            error = self._scheduler.fetch_error(task_id).get("error")
        except Exception:  # the scheduler is gone: nothing will hand the task over
            return False
        return not error
