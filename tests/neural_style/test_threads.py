"""A PyTorch pass leaves the cores other processes keep busy to them."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from neural_style import hardware
from neural_style.torch import threads


@pytest.fixture
def two_threads() -> object:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _two_cores(monkeypatch: pytest.MonkeyPatch, *busy: int) -> None:
    """Make this a two-core machine whose readings of cores busy elsewhere are ``busy``, the last repeated."""
    readings = iter(busy)
    monkeypatch.setattr(threads, "usable_cores", lambda: 2)
    monkeypatch.setattr(threads, "cores_busy_elsewhere", lambda: next(readings, busy[-1]))


@pytest.mark.usefixtures("two_threads")
def test_a_pass_runs_on_the_cores_left_free(monkeypatch: pytest.MonkeyPatch) -> None:
    _two_cores(monkeypatch, 1)
    with threads.threads_left_free(2) as used:
        assert used == torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


@pytest.mark.usefixtures("two_threads")
def test_a_quiet_machine_keeps_every_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    _two_cores(monkeypatch, 0)
    with threads.threads_left_free(2) as used:
        assert used == torch.get_num_threads() == 2


@pytest.mark.usefixtures("two_threads")
def test_a_moment_of_load_is_not_taken_for_a_busy_core(monkeypatch: pytest.MonkeyPatch) -> None:
    _two_cores(monkeypatch, 1, 0, 1)
    with threads.threads_left_free(2) as used:
        assert used == 2


@pytest.mark.usefixtures("two_threads")
def test_at_least_one_thread_runs_however_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    _two_cores(monkeypatch, 7)
    with threads.threads_left_free(2) as used:
        assert used == torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_one_thread_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "cores_busy_elsewhere", lambda: pytest.fail("read for one thread"))
    with threads.threads_left_free(1) as used:
        assert used == 1


@pytest.mark.skipif(not Path("/proc/loadavg").is_file(), reason="the kernel's runnable count is Linux's")
def test_a_busy_process_is_seen() -> None:
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        deadline = time.monotonic() + 10
        while hardware.cores_busy_elsewhere() < 1:
            assert time.monotonic() < deadline, "a spinning process was never counted"
            time.sleep(0.05)
    finally:
        spinner.kill()
        spinner.wait()


def test_a_process_on_some_of_the_cpus_does_not_guess(monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel's runnable count covers every CPU, not only the ones this process may use.
    monkeypatch.setattr(hardware, "usable_cores", lambda: 2)
    monkeypatch.setattr(hardware.os, "cpu_count", lambda: 64)
    assert hardware.cores_busy_elsewhere() == 0
