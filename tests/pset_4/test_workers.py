"""``--workers N`` on one machine: tasks on threads of the worker process, sharing one loaded model.

Luigi's scheduler, worker loop and result queue are real; only where a task runs changes
(pset_4.runtime.workers).
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import luigi
import luigi.worker
import pytest

from csci_utils.luigi.target import SuffixPreservingLocalTarget
from pset_4 import render
from pset_4.cli import main
from pset_4.runtime.scheduling import SchedulerAddress, run_tasks
from pset_4.runtime.workers import TaskThread

# Two tasks of a batch meet here: only tasks that run at the same time in this process can pass it.
_meeting: list[threading.Barrier] = [threading.Barrier(2)]
# Set by WritesSlowly once its temp file is written, the hand-shake before the test stops it.
_writing = threading.Event()


class WritesItsPid(luigi.Task):
    """Writes the process and thread it ran in."""

    folder = luigi.Parameter()
    name = luigi.Parameter()

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.folder, f"{self.name}.txt")))

    def run(self) -> None:
        with self.output().open("w") as out:
            out.write(f"{os.getpid()} {threading.get_ident()}")


class MeetsAnother(WritesItsPid):
    """Waits (at most 10 s) until another task of the batch is running too, then writes its output."""

    def run(self) -> None:
        _meeting[0].wait(timeout=10)
        super().run()


class Fails(WritesItsPid):
    """Fails the way a bad photo does."""

    def run(self) -> None:
        msg = f"{self.name} is not an image"
        raise ValueError(msg)

    def on_failure(self, exception: BaseException) -> str:
        """Say why in one line, as the workflow's tasks do."""
        return f"{self} failed: {exception}"


class Sleeps(WritesItsPid):
    """Takes far longer than its timeout."""

    worker_timeout = 1

    def run(self) -> None:
        time.sleep(60)


class WritesSlowly(luigi.Task):
    """Holds its temp file open until it is stopped."""

    path = luigi.Parameter()

    def output(self) -> SuffixPreservingLocalTarget:
        return SuffixPreservingLocalTarget(self.path)

    def run(self) -> None:
        with self.output().temporary_path() as temp:
            Path(temp).write_text("partial")
            _writing.set()  # the temp file is written and closed: stop it from here on
            while True:
                time.sleep(0.01)


def _build(tasks: list[luigi.Task], workers: int = 2) -> dict[str, str]:
    """Run ``tasks`` with this process's own scheduler; return the failure reasons."""
    return run_tasks(tasks, workers=workers, scheduler=SchedulerAddress(), log_level="CRITICAL").reasons


def _pids(folder: Path) -> set[int]:
    return {int(path.read_text().split()[0]) for path in folder.glob("*.txt")}


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Luigi's ``[worker] force_multiprocessing = true`` for the test."""
    config = luigi.configuration.get_config()
    had_section = config.has_section("worker")
    if not had_section:
        config.add_section("worker")
    config.set("worker", "force_multiprocessing", "true")
    yield
    config.remove_option("worker", "force_multiprocessing")
    if not had_section:
        config.remove_section("worker")


def test_two_workers_run_their_tasks_in_this_process(tmp_path: Path) -> None:
    _build([WritesItsPid(folder=str(tmp_path), name=f"t{i}") for i in range(4)])
    assert _pids(tmp_path) == {os.getpid()}


def test_two_workers_run_two_tasks_at_the_same_time(tmp_path: Path) -> None:
    _meeting[0] = threading.Barrier(2)
    reasons = _build([MeetsAnother(folder=str(tmp_path), name=f"t{i}") for i in range(2)])
    assert reasons == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t0.txt", "t1.txt"]


def test_a_failed_task_on_a_thread_has_its_reason_and_the_others_finish(tmp_path: Path) -> None:
    bad = Fails(folder=str(tmp_path), name="bad")
    reasons = _build([bad, *(WritesItsPid(folder=str(tmp_path), name=f"t{i}") for i in range(3))])
    assert "bad is not an image" in reasons[bad.task_id]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t0.txt", "t1.txt", "t2.txt"]


@pytest.mark.slow
def test_a_task_with_a_timeout_runs_in_a_process_the_timeout_ends(tmp_path: Path) -> None:
    slow = Sleeps(folder=str(tmp_path), name="slow")
    reasons = _build([slow, WritesItsPid(folder=str(tmp_path), name="quick")])
    assert "timed out after 1 seconds" in reasons[slow.task_id]
    assert _pids(tmp_path) == {os.getpid()}  # the task without a timeout still ran on a thread here


@pytest.mark.usefixtures("forked")
def test_force_multiprocessing_forks_a_process_per_task_as_luigi_does(tmp_path: Path) -> None:
    _build([WritesItsPid(folder=str(tmp_path), name=f"t{i}") for i in range(2)])
    pids = _pids(tmp_path)
    assert len(pids) == 2
    assert os.getpid() not in pids


def test_terminate_stops_a_task_thread_and_its_temp_file_is_removed(tmp_path: Path) -> None:
    task = WritesSlowly(path=str(tmp_path / "out.txt"))
    results: queue.Queue[tuple[object, ...]] = queue.Queue()
    reporter = luigi.worker.TaskStatusReporter(None, task.task_id, "test", None)
    process = TaskThread(None, task, "test", results, reporter, use_multiprocessing=True)
    _writing.clear()
    process.start()
    assert _writing.wait(120), "the task never wrote its temp file"
    assert process.is_alive()
    assert process.exitcode is None
    process.terminate()
    assert not process.is_alive()
    assert process.exitcode == 1
    assert list(tmp_path.iterdir()) == []
    task_id, status, *_ = results.get(timeout=1)  # Luigi's run() still reports, as a forked child does
    assert task_id == task.task_id
    assert status != luigi.worker.DONE


def test_threads_asking_for_one_model_at_once_share_one_load(
    multistyle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    render.clear()
    loads: list[Path] = []
    real = render._load

    def slow_load(path: Path, threads: int | None) -> object:
        loads.append(path)
        time.sleep(0.2)  # every thread asks while the first load is under way
        return real(path, threads)

    monkeypatch.setattr(render, "_load", slow_load)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(render.cached_model(multistyle))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    render.clear()
    assert loads == [multistyle.resolve()]
    assert len({id(stylizer) for stylizer in got}) == 1


@pytest.fixture
def batch(roots, make_photo: Callable[..., Path], multistyle: Path) -> list[str]:
    """A remote with four photos and the 26-style model; the argv of a batch of them in two styles."""
    for i in range(4):
        make_photo(roots.remote_images / f"p{i}.png", 64, 48, seed=i)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    argv = ["-m", "multi.onnx", "--style", "0", "--style", "7", "--no-contact-sheet", "--workers", "2"]
    for i in range(4):
        argv += ["-i", f"p{i}.png"]
    return argv


@pytest.mark.slow
def test_two_workers_publish_every_pair_of_a_batch(
    batch: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    command = [sys.executable, "-m", "pset_4", *batch]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert len([line for line in done.stdout.splitlines() if line.startswith("published: ")]) == 8
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_two_workers_killed_mid_batch_leave_no_result_half_written_and_the_rerun_finishes(
    roots, batch: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    command = [sys.executable, "-m", "pset_4", *batch]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (roots.stylized.is_dir() and any(roots.stylized.iterdir())):
        assert worker.poll() is None, "the batch finished before it could be killed"
        assert time.monotonic() < deadline, "the batch never started stylizing"
        time.sleep(0.005)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    # Only hidden temp files can be left by killed writers; every visible result is whole.
    for path in roots.stylized.iterdir():
        assert path.name.startswith(".") or path.stat().st_size > 0
    assert main(batch) == 0
    published = [line for line in capsys.readouterr().out.splitlines() if line.startswith("published: ")]
    assert len(published) == 8
    results = [p for p in roots.stylized.iterdir() if not p.name.startswith(".")]
    assert len(results) == 8
    assert all(p.stat().st_size > 0 for p in results)
