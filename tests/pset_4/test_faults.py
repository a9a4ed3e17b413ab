"""A worker killed mid-task leaves no output and no partial cache; the next run finishes the job."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pset_4.cli import main


@pytest.fixture
def big_job(roots, make_photo, multistyle) -> list[str]:
    """A remote with one large PNG photo (slow to encode, so a writer can be caught mid-write); its argv.

    Large enough that its network pass and its write each last well over the polls below on a busy
    machine.
    """
    make_photo(roots.remote_images / "big.png", 2048, 1536)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    return ["-i", "big.png", "-m", "multi.onnx", "--style", "4", "--no-publish", "--no-contact-sheet"]


def start_worker(argv: list[str], *, stderr: int) -> subprocess.Popen[str]:
    """Run ``python -m pset_4 ARGV`` in a process of its own."""
    command = [sys.executable, "-m", "pset_4", *argv]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, text=True)


def wait_until_writing(worker: subprocess.Popen[str], folder: Path) -> None:
    """Return as soon as the worker's first (temp) output file appears in ``folder``."""
    deadline = time.monotonic() + 60
    while not (folder.is_dir() and any(folder.iterdir())):
        assert worker.poll() is None, "the worker finished before it could be stopped"
        assert time.monotonic() < deadline, "the worker never started stylizing"
        time.sleep(0.005)


@pytest.fixture
def interruptible() -> Iterator[None]:
    """Let the workers this test starts take Ctrl-C as a terminal's processes do.

    A test run from a background job (``make test &``, some CI runners) inherits SIGINT ignored, and an
    ignored signal stays ignored across exec, so Python in the worker would never raise
    KeyboardInterrupt. A handled signal is reset to its default at exec instead.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def wait_until_stylizing(worker: subprocess.Popen[str], cache: Path) -> None:
    """Return once the worker has its inputs in ``cache`` and is well into the network pass.

    A Ctrl-C there lands in the task whatever the machine's load; one that lands after the task, in
    Luigi's event callbacks, is swallowed by Luigi (``Task.trigger_event``), so a test must not aim at
    the short write at the end.
    """
    deadline = time.monotonic() + 60
    while not (cache / "images" / "big.png").is_file():
        assert worker.poll() is None, "the worker finished before it could be stopped"
        assert time.monotonic() < deadline, "the worker never downloaded its photo"
        time.sleep(0.005)
    time.sleep(0.3)  # the 2048x1536 pass takes over a second
    assert worker.poll() is None, "the worker finished before it could be stopped"


@pytest.mark.slow
def test_worker_killed_mid_stylize_leaves_nothing_and_the_next_run_finishes(
    roots, big_job: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = big_job
    worker = start_worker(argv, stderr=subprocess.DEVNULL)
    try:
        wait_until_writing(worker, roots.stylized)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    # Only a hidden temp file can be left by a killed writer; no output name exists.
    assert all(p.name.startswith(".") for p in roots.stylized.iterdir())
    for folder, remote in (("images", roots.remote_images), ("saved_models", roots.remote_models)):
        for cached in (roots.cache / folder).iterdir():
            assert not cached.name.startswith(".")
            assert cached.read_bytes() == (remote / cached.name).read_bytes()

    assert main(argv) == 0
    (output,) = [
        line[len("output: ") :]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("output: ")
    ]
    assert Path(output).stat().st_size > 0
    assert [p for p in roots.stylized.iterdir() if not p.name.startswith(".")] == [Path(output)]


@pytest.mark.slow
def test_ctrl_c_mid_stylize_cleans_up_and_says_so(roots, big_job: list[str], interruptible: None) -> None:
    worker = start_worker(big_job, stderr=subprocess.PIPE)
    wait_until_stylizing(worker, roots.cache)
    worker.send_signal(signal.SIGINT)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err
    assert not roots.stylized.is_dir() or list(roots.stylized.iterdir()) == []


def _children(pid: int) -> list[int]:
    """Return the ids of the processes ``pid`` forked (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found += [int(child) for child in text.split()]
    return found


@pytest.mark.slow
def test_a_forked_worker_killed_with_sigkill_is_listed_as_failed_with_a_reason(
    roots, big_job: list[str], tmp_path: Path
) -> None:
    # Tasks run on threads of the worker unless luigi.cfg asks Luigi to fork a process per task.
    config = tmp_path / "forked.cfg"
    config.write_text("[worker]\nforce_multiprocessing = true\n")
    command = [sys.executable, "-m", "pset_4", *big_job, "--workers", "2"]
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(config)}
    worker = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wait_until_writing(worker, roots.stylized)
    for child in _children(worker.pid):
        os.kill(child, signal.SIGKILL)
    _, err = worker.communicate(timeout=120)
    assert worker.returncode == 1
    assert any(line.startswith("FAILED: StylizeHere(image=big.png") for line in err.splitlines()), err
    assert "  reason: " in err
    assert "died" in err


@pytest.mark.slow
def test_ctrl_c_with_two_workers_leaves_no_temp_files_after_the_rerun(
    roots, big_job: list[str], interruptible: None
) -> None:
    command = [sys.executable, "-m", "pset_4", *big_job, "--workers", "2"]
    # Ctrl-C in a terminal signals the whole process group: the CLI and the workers it forked.
    worker = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    wait_until_stylizing(worker, roots.cache)
    os.killpg(worker.pid, signal.SIGINT)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 130, err
    assert main(big_job) == 0
    assert [p.name for p in roots.cache.rglob(".*")] == []


def test_a_full_disk_is_a_failure_and_the_report_survives_it(
    roots, make_photo, multistyle, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    from pset_4 import contact_sheet

    make_photo(roots.remote_images / "a.jpg")
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(contact_sheet, "write", disk_full)
    assert main(["-i", "a.jpg", "-m", "multi.onnx", "--style", "2"]) == 1
    captured = capsys.readouterr()
    assert len([line for line in captured.out.splitlines() if line.startswith("published: ")]) == 1
    assert "FAILED: ContactSheet(" in captured.err
    assert "No space left on device" in captured.err
