"""Running tasks with Luigi: the scheduler in this process or a central luigid, and workers that share it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import luigi
import luigi.rpc
import luigi.scheduler
import luigi.worker
from luigi.execution_summary import LuigiRunResult, LuigiStatusCode

# How often a worker waiting on others asks the central scheduler for work (Luigi's default: 1-6 s).
_POLL_S = 0.2

SUCCEEDED = frozenset({LuigiStatusCode.SUCCESS, LuigiStatusCode.SUCCESS_WITH_RETRY})


@dataclass(frozen=True)
class Scheduler:
    """Where Luigi schedules: in this process (``host`` None: ``local_scheduler=True``) or luigid."""

    host: str | None = None
    port: int = 8082

    def build_options(self) -> dict[str, object]:
        """Return the options ``luigi.build`` takes for this scheduler."""
        if self.host is None:
            return {"local_scheduler": True}
        return {"scheduler_host": self.host, "scheduler_port": self.port}


class SharingWorker(luigi.worker.Worker):
    """A worker that waits while other workers run tasks it needs, then finishes the rest itself.

    Luigi's stock worker quits as soon as the scheduler has nothing for it right now, so a second worker
    on a shared batch could exit while the first still runs tasks it depends on; with ``keep_alive`` it would
    instead wait forever behind a failed task. This one stays exactly while some task it needs is running
    elsewhere. (Overrides Luigi's private ``_keep_alive`` hook; luigi is pinned in constraints.txt.)
    """

    def _keep_alive(self, get_work_response: Any) -> bool:
        return bool(get_work_response.running_tasks)


class _CentralFactory:
    """Luigi's worker/scheduler factory for a central scheduler, making :class:`SharingWorker`s."""

    def create_local_scheduler(self) -> luigi.scheduler.Scheduler:
        return luigi.scheduler.Scheduler(prune_on_get_work=True, record_task_history=False)

    def create_remote_scheduler(self, url: str) -> luigi.rpc.RemoteScheduler:
        return luigi.rpc.RemoteScheduler(url)

    def create_worker(
        self, scheduler: Any, worker_processes: int, assistant: bool = False
    ) -> luigi.worker.Worker:
        return SharingWorker(
            scheduler=scheduler,
            worker_processes=worker_processes,
            assistant=assistant,
            wait_interval=_POLL_S,
            wait_jitter=_POLL_S,
        )


def build(
    tasks: Sequence[luigi.Task], *, workers: int, scheduler: Scheduler, log_level: str
) -> LuigiRunResult:
    """Run ``tasks`` with Luigi and return its detailed result (never raises for a failed task)."""
    if workers < 1:
        msg = f"workers must be at least 1, got {workers}"
        raise ValueError(msg)
    factory = None if scheduler.host is None else _CentralFactory()
    return luigi.build(
        list(tasks),
        worker_scheduler_factory=factory,
        workers=workers,
        detailed_summary=True,
        log_level=log_level,
        **scheduler.build_options(),
    )
