"""Ctrl-C during a build: never lost, even where Luigi swallows it (an interrupted event callback)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import luigi
import pytest

from pset_4.runtime.interrupts import ctrl_c_latched, raise_if_interrupted
from pset_4.runtime.scheduling import SchedulerAddress, run_tasks


@pytest.fixture
def python_sigint() -> Iterator[None]:
    """Give this process Python's own SIGINT handler (a background job's pytest inherits it ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Writes(luigi.Task):
    """Writes an empty file named after itself."""

    folder = luigi.Parameter()
    name = luigi.Parameter()

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(str(Path(self.folder, self.name)))

    def run(self) -> None:
        with self.output().open("w"):
            pass


class InterruptedWhileReported(Writes):
    """Its success handler is where the user's Ctrl-C lands (Luigi returns quietly from it)."""

    priority = 10  # run first


@InterruptedWhileReported.event_handler(luigi.Event.SUCCESS)
def _press_ctrl_c(task: luigi.Task) -> None:
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.usefixtures("python_sigint")
def test_a_ctrl_c_luigi_swallows_in_an_event_callback_still_stops_the_build(tmp_path: Path) -> None:
    first = InterruptedWhileReported(folder=str(tmp_path), name="first")
    later = [Writes(folder=str(tmp_path), name=f"later{i}") for i in range(3)]
    with pytest.raises(KeyboardInterrupt):
        run_tasks([first, *later], workers=1, scheduler=SchedulerAddress(), log_level="CRITICAL")
    assert [p.name for p in tmp_path.iterdir()] == ["first"]


@pytest.mark.usefixtures("python_sigint")
def test_the_handler_before_the_build_is_back_after_it(tmp_path: Path) -> None:
    run_tasks(
        [Writes(folder=str(tmp_path), name="a")],
        workers=1,
        scheduler=SchedulerAddress(),
        log_level="CRITICAL",
    )
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.usefixtures("python_sigint")
def test_a_ctrl_c_from_an_earlier_build_does_not_stop_the_next(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), ctrl_c_latched():
        os.kill(os.getpid(), signal.SIGINT)
    with ctrl_c_latched():
        raise_if_interrupted()  # nothing pending


def test_an_ignored_sigint_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ctrl_c_latched():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
