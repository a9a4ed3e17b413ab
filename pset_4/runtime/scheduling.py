"""Running tasks with Luigi: the scheduler in this process or a central luigid, and the workers it gets.

:func:`run_tasks` is the one way the workflow runs a build: Luigi's ``luigi.build`` with our worker factory
(:class:`~pset_4.runtime.workers.ThreadedWorker`; with luigid its subclass
:class:`~pset_4.runtime.workers.SharingWorker`), Ctrl-C latched (:mod:`pset_4.runtime.interrupts`), and the
scheduler's reason for each task that failed.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import luigi
import luigi.configuration
import luigi.rpc
import luigi.scheduler
import luigi.worker
from luigi.execution_summary import LuigiRunResult, LuigiStatusCode

from pset_4.runtime.interrupts import ctrl_c_latched
from pset_4.runtime.workers import FinalFailure, SharingWorker, ThreadedWorker

# How often a worker waiting on others asks the central scheduler for work (Luigi's default: 1-6 s).
_POLL_S = 0.1
# Seconds between Luigi's tries of a request luigid did not answer (Luigi's default, 30, made a luigid that
# died mid-run cost a minute per request); luigi.cfg [core] rpc-retry-wait, where set, still wins.
_RPC_RETRY_WAIT_S = 2

SUCCEEDED = frozenset({LuigiStatusCode.SUCCESS, LuigiStatusCode.SUCCESS_WITH_RETRY})


@dataclass(frozen=True)
class SchedulerAddress:
    """Where Luigi schedules: in this process (``host`` None: ``local_scheduler=True``) or luigid."""

    host: str | None = None
    port: int = 8082

    @property
    def central(self) -> bool:
        """Whether this is a central scheduler (luigid) that other machines may share."""
        return self.host is not None

    def build_options(self) -> dict[str, object]:
        """Return the options ``luigi.build`` takes for this scheduler."""
        if self.host is None:
            return {"local_scheduler": True}
        return {"scheduler_host": self.host, "scheduler_port": self.port}


# A task id no batch has: asking luigid why it failed reads nothing and changes nothing there.
_PROBE_TASK_ID = "pset_4-reachability-probe"
_WHAT_TO_CHECK = "check that luigid is running there, on that port, and that no firewall blocks the port"


class SchedulerUnreachableError(ConnectionError):
    """The central scheduler did not answer; the message names its host and port and what to check."""


def check_reachable(address: SchedulerAddress, timeout_s: float) -> None:
    """Return once luigid at ``address`` answers one request; else raise :class:`SchedulerUnreachableError`.

    Asked before any work: Luigi itself tries a dead address three times 30 s apart, then raises a long
    traceback. The whole wait (name lookup, connection, answer) is bounded by about ``timeout_s``. Nothing
    to check for the scheduler in this process.
    """
    if address.host is None:
        return
    reason = _why_no_answer(address.host, address.port, timeout_s)
    if reason is not None:
        where = _host_port(address)
        msg = f"cannot reach the central scheduler at {where} ({reason}): {_WHAT_TO_CHECK}"
        raise SchedulerUnreachableError(msg)


def _host_port(address: SchedulerAddress) -> str:
    """Return ``host:port`` (an IPv6 literal in brackets)."""
    host = str(address.host)
    return f"[{host}]:{address.port}" if ":" in host else f"{host}:{address.port}"


def _why_no_answer(host: str, port: int, timeout_s: float) -> str | None:
    """Return why luigid at ``host:port`` gave no answer within ``timeout_s``, or None if it answered."""
    deadline = time.monotonic() + timeout_s
    try:
        status, body = _ask(_resolve(host, port, timeout_s), port, deadline)
    except socket.gaierror:
        return "the host name does not resolve"
    except ConnectionRefusedError:
        return "connection refused: nothing listens on that port"
    except TimeoutError:
        return f"no answer within {timeout_s:g} s; [pset_4] scheduler_connect_timeout sets the wait"
    except http.client.HTTPException:
        return "something answered, but not as luigid does"
    except OSError as err:
        return err.strerror or str(err)
    with suppress(ValueError):
        if status == http.client.OK and "response" in json.loads(body):
            return None
    return f"something answered, but not as luigid does (HTTP {status})"


def _resolve(host: str, port: int, timeout_s: float) -> str:
    """Return an IP address of ``host``; socket.gaierror if it has none, TimeoutError after ``timeout_s``.

    The lookup runs on a daemon thread because the system's resolver takes no timeout.
    """
    found: list[str | OSError] = []

    def lookup() -> None:
        try:
            found.append(str(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0]))
        except OSError as err:
            found.append(err)

    thread = threading.Thread(target=lookup, name="pset_4-scheduler-lookup", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not found:
        raise TimeoutError
    if isinstance(found[0], OSError):
        raise found[0]
    return found[0]


def _ask(ip: str, port: int, deadline: float) -> tuple[int, bytes]:
    """Send luigid one cheap RPC at ``ip:port``; return the HTTP status and body of its answer.

    :raises TimeoutError: the answer is not complete by ``deadline`` (``time.monotonic()``)
    """
    body = urlencode({"data": json.dumps({"task_id": _PROBE_TASK_ID})})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    connection = http.client.HTTPConnection(ip, port, timeout=_time_left(deadline))
    try:
        connection.connect()
        connection.sock.settimeout(_time_left(deadline))
        connection.request("POST", "/api/fetch_error", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _time_left(deadline: float) -> float:
    """Return the seconds left until ``deadline``; TimeoutError if none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


class RetryingRemoteScheduler(luigi.rpc.RemoteScheduler):
    """Luigi's client of luigid, trying a request again after seconds, not Luigi's 30 s.

    (Sets Luigi's private ``_rpc_retry_wait``, which ``RemoteScheduler.__init__`` reads from ``[core]
    rpc-retry-wait``: setting that option in luigi.cfg instead makes Luigi warn that ``[core]`` does not
    consume it.)
    """

    def __init__(self, url: str) -> None:
        super().__init__(url)
        if not luigi.configuration.get_config().has_option("core", "rpc-retry-wait"):
            self._rpc_retry_wait = _RPC_RETRY_WAIT_S


class _Factory:
    """Luigi's worker/scheduler factory: makes our workers and remembers the scheduler.

    Workers run their tasks on threads of this process (:class:`ThreadedWorker`); with luigid they are
    :class:`SharingWorker`s. It stands in for Luigi's private ``luigi.interface._WorkerSchedulerFactory``.
    """

    def __init__(self, *, central: bool, final_failure: FinalFailure | None = None) -> None:
        self.central = central
        self.final_failure = final_failure
        self.scheduler: Any = None

    def create_local_scheduler(self) -> luigi.scheduler.Scheduler:
        self.scheduler = luigi.scheduler.Scheduler(prune_on_get_work=True, record_task_history=False)
        return self.scheduler

    def create_remote_scheduler(self, url: str) -> luigi.rpc.RemoteScheduler:
        self.scheduler = RetryingRemoteScheduler(url)
        return self.scheduler

    def create_worker(
        self, scheduler: Any, worker_processes: int, assistant: bool = False
    ) -> luigi.worker.Worker:
        if not self.central:
            return ThreadedWorker(
                scheduler=scheduler,
                worker_processes=worker_processes,
                assistant=assistant,
                final_failure=self.final_failure,
            )
        return SharingWorker(
            scheduler=scheduler,
            worker_processes=worker_processes,
            assistant=assistant,
            final_failure=self.final_failure,
            wait_interval=_POLL_S,
            wait_jitter=_POLL_S,
            handoff_wait_s=handoff_wait_s(),
        )


# Beyond retry_delay, how long a worker waits for a dead worker's task to be pending again: luigid makes it
# pending at the first request after retry_delay, and on a loaded machine requests and answers take seconds
# (1 s was too little once in a full suite run, tests in parallel: the waiting worker gave up first).
_HANDOFF_SLACK_S = 5.0


def handoff_wait_s() -> float:
    """Return how long a worker waits to take over a dead worker's task: ``[scheduler] retry_delay`` + slack.

    luigid should run with the same ``[scheduler]`` settings (luigi.cfg documents them).
    """
    return float(luigi.scheduler.scheduler().retry_delay) + 4 * _POLL_S + _HANDOFF_SLACK_S


@dataclass
class BuildOutcome:
    """Luigi's detailed result of a build, and the scheduler's reason for each task that failed."""

    result: LuigiRunResult
    reasons: dict[str, str] = field(default_factory=dict)


def run_tasks(
    tasks: Sequence[luigi.Task],
    *,
    workers: int,
    scheduler: SchedulerAddress,
    log_level: str,
    final_failure: FinalFailure | None = None,
) -> BuildOutcome:
    """Run ``tasks`` with Luigi; return its result and why each incomplete task failed (never raises for one).

    Reasons come from the scheduler, so a task another machine ran and failed under luigid is explained
    here too (as is a forked worker process that died). ``final_failure`` says which failures are final for
    the batch (see :mod:`pset_4.runtime.workers`); without it Luigi may try a failed task again.

    :raises SchedulerUnreachableError: the central scheduler stopped answering (Luigi's tries ran out)
    """
    if workers < 1:
        msg = f"workers must be at least 1, got {workers}"
        raise ValueError(msg)
    factory = _Factory(central=scheduler.central, final_failure=final_failure)
    try:
        with ctrl_c_latched():
            result = luigi.build(
                list(tasks),
                worker_scheduler_factory=factory,
                workers=workers,
                detailed_summary=True,
                log_level=log_level,
                **scheduler.build_options(),
            )
    except luigi.rpc.RPCError as err:
        msg = (
            f"the central scheduler at {_host_port(scheduler)} stopped answering: {_WHAT_TO_CHECK}; "
            "finished results are kept, rerun to do the rest"
        )
        raise SchedulerUnreachableError(msg) from err
    return BuildOutcome(result=result, reasons=_failure_reasons(factory.scheduler, tasks))


def build(
    tasks: Sequence[luigi.Task], *, workers: int, scheduler: SchedulerAddress, log_level: str
) -> LuigiRunResult:
    """Run ``tasks`` with Luigi and return its detailed result (never raises for a failed task)."""
    return run_tasks(tasks, workers=workers, scheduler=scheduler, log_level=log_level).result


def _failure_reasons(scheduler: Any, tasks: Sequence[luigi.Task]) -> dict[str, str]:
    """Return the scheduler's explanation for each of ``tasks`` or its dependencies that is incomplete."""
    reasons: dict[str, str] = {}
    if scheduler is None:
        return reasons
    seen: set[str] = set()
    pending = list(tasks)
    while pending:
        task = pending.pop()
        if task.task_id in seen:
            continue
        seen.add(task.task_id)
        if task.complete():
            continue
        try:
            error = scheduler.fetch_error(task.task_id).get("error") or ""
        except Exception:  # a lost scheduler only costs the reason, not the report
            error = ""
        if error:
            reasons[task.task_id] = _reason_line(str(error))
        pending.extend(luigi.task.flatten(task.requires()))
    return reasons


def _reason_line(error: str) -> str:
    """Return the line of a Luigi error text that says why (the exception, not the traceback frames)."""
    with suppress(ValueError):
        decoded = json.loads(error)  # Luigi sends some explanations JSON-encoded
        if isinstance(decoded, str):
            error = decoded
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].startswith("Traceback"):
        return lines[-1]
    return lines[0]
