"""The fence around Luigi's internals: each private hook pset_4.runtime relies on, as the pinned Luigi has it.

When an upgrade of Luigi changes one of these, a test here fails and names it: read the new Luigi code, adapt
pset_4.runtime, then record the new signature.
"""

from __future__ import annotations

import inspect
import queue
import re
from pathlib import Path

import luigi
import luigi.interface
import luigi.parameter
import luigi.rpc
import luigi.scheduler
import luigi.task_register
import luigi.worker
import pytest

import pset_4
import pset_4.runtime
from pset_4.runtime.scheduling import RetryingRemoteScheduler, _Factory
from pset_4.runtime.workers import SharingWorker, TaskThread, ThreadedWorker

# (owner, name) -> the signature the pinned Luigi has.
HOOKS: dict[tuple[type, str], str] = {
    (luigi.worker.Worker, "_get_work"): "(self)",
    (luigi.worker.Worker, "_handle_next_task"): "(self)",
    (luigi.worker.Worker, "_run_task"): "(self, task_id)",
    (luigi.worker.Worker, "_add_task"): "(self, *args, **kwargs)",
    (luigi.worker.Worker, "_create_task_process"): "(self, task)",
    (luigi.worker.Worker, "_keep_alive"): "(self, get_work_response)",
    (luigi.worker.ContextManagedTaskProcess, "__init__"): "(self, context, *args, **kwargs)",
    (luigi.worker.TaskProcess, "__init__"): (
        "(self, task, worker_id, result_queue, status_reporter, use_multiprocessing=False, worker_timeout=0, "
        "check_unfulfilled_deps=True, check_complete_on_run=False, task_completion_cache=None)"
    ),
    (luigi.interface._WorkerSchedulerFactory, "create_local_scheduler"): "(self)",
    (luigi.interface._WorkerSchedulerFactory, "create_remote_scheduler"): "(self, url)",
    (luigi.interface._WorkerSchedulerFactory, "create_worker"): (
        "(self, scheduler, worker_processes, assistant=False)"
    ),
    (luigi.task_register.Register, "clear_instance_cache"): "()",
    (luigi.parameter.Parameter, "_parser_global_dest"): "(param_name, task_name)",
}

WORKER_ATTRIBUTES = [
    "_scheduled_tasks",
    "_running_tasks",
    "_scheduler",
    "_id",
    "_assistant",
    "_task_result_queue",
    "_task_completion_cache",
    "_config",
]
WORKER_CONFIG_ATTRIBUTES = [
    "force_multiprocessing",
    "task_process_context",
    "timeout",
    "check_unfulfilled_deps",
    "check_complete_on_run",
]
TASK_PROCESS_ATTRIBUTES = ["use_multiprocessing", "timeout_time", "status_reporter", "task"]

# Our classes that subclass (or stand in for) Luigi's, and the Luigi classes whose names they may override.
OURS: dict[type, tuple[type, ...]] = {
    ThreadedWorker: (luigi.worker.Worker,),
    SharingWorker: (luigi.worker.Worker,),
    TaskThread: (luigi.worker.ContextManagedTaskProcess, luigi.worker.TaskProcess),
    RetryingRemoteScheduler: (luigi.rpc.RemoteScheduler,),
    _Factory: (luigi.interface._WorkerSchedulerFactory,),
}


@pytest.mark.parametrize(("hook", "signature"), HOOKS.items(), ids=lambda h: getattr(h, "__name__", h))
def test_each_hook_keeps_the_signature_it_was_written_against(hook: tuple[type, str], signature: str) -> None:
    owner, name = hook
    assert str(inspect.signature(getattr(owner, name))) == signature, f"{owner.__qualname__}.{name} changed"


def test_every_hook_is_listed_in_the_runtime_docstring() -> None:
    doc = pset_4.runtime.__doc__ or ""
    names = {name for _, name in HOOKS if name != "__init__"}
    names |= {*WORKER_ATTRIBUTES, *WORKER_CONFIG_ATTRIBUTES, "_rpc_retry_wait", "_Register__instance_cache"}
    names |= {"running_tasks", "_WorkerSchedulerFactory", "ContextManagedTaskProcess.__init__"}
    missing = sorted(name for name in names if name not in doc)
    assert missing == []


def test_every_luigi_name_the_runtime_overrides_is_recorded() -> None:
    recorded = {(owner, name) for owner, name in HOOKS}
    public_process_api = {"start", "is_alive", "exitcode", "join", "terminate"}  # multiprocessing.Process's
    for ours, theirs in OURS.items():
        for name in vars(ours):
            if name.startswith("__") or name in public_process_api:
                continue
            owners = [owner for owner in theirs if hasattr(owner, name)]
            if not owners:
                continue  # a name of our own
            assert any((owner, name) in recorded for owner in owners), (
                f"{ours.__name__}.{name} is not recorded"
            )


def test_the_private_attributes_the_runtime_uses_exist() -> None:
    worker = luigi.worker.Worker(scheduler=luigi.scheduler.Scheduler())
    for name in WORKER_ATTRIBUTES:
        assert hasattr(worker, name), name
    for name in WORKER_CONFIG_ATTRIBUTES:
        assert hasattr(worker._config, name), name
    process = luigi.worker.TaskProcess(luigi.Task(), "worker", queue.Queue(), status_reporter=None)
    for name in TASK_PROCESS_ATTRIBUTES:
        assert hasattr(process, name), name
    assert "running_tasks" in luigi.worker.GetWorkResponse._fields
    assert isinstance(luigi.rpc.RemoteScheduler("http://127.0.0.1:1")._rpc_retry_wait, int)
    assert "self._rpc_retry_wait" in inspect.getsource(luigi.rpc.RemoteScheduler._get_retryer)
    assert hasattr(luigi.task_register.Register, "_Register__instance_cache")
    assert luigi.parameter.Parameter._parser_global_dest("remote_root", "pset_4") == "pset_4_remote_root"


def test_no_module_outside_the_runtime_touches_a_private_luigi_name() -> None:
    hooks = {name for _, name in HOOKS if name != "__init__"}
    attributes = {
        *WORKER_ATTRIBUTES,
        "_rpc_retry_wait",
        "_Register__instance_cache",
        "_WorkerSchedulerFactory",
    }
    private = re.compile(rf"luigi[\w.]*\._[A-Za-z]\w*|\b(?:{'|'.join(sorted(hooks | attributes))})\b")
    package = Path(inspect.getfile(pset_4)).parent
    found = [
        f"{path.relative_to(package)}: {match.group()}"
        for path in sorted(package.rglob("*.py"))
        if "runtime" not in path.relative_to(package).parts
        for match in private.finditer(path.read_text())
    ]
    assert found == []


def test_tasks_list_their_parameters_as_luigi_does() -> None:
    from pset_4.tasks.data import ContentImage
    from pset_4.tasks.stylize import Stylize, StylizeHere

    for task_class in (Stylize, StylizeHere, ContentImage):
        for _ in range(2):  # computed, then remembered
            assert task_class.get_params() == luigi.Task.get_params.__func__(task_class)  # type: ignore[attr-defined]
