"""Batch progress: a bar of results done, counted in this process and in Luigi's forked workers."""

from __future__ import annotations

from pathlib import Path

import luigi
import pytest

from pset_4.progress import batch_progress


class Touch(luigi.Task):
    path = luigi.Parameter()

    def output(self) -> luigi.LocalTarget:
        return luigi.LocalTarget(self.path)

    def run(self) -> None:
        Path(self.path).write_text("done")


@pytest.mark.parametrize("workers", [1, 2])
def test_the_bar_counts_every_result_done_by_any_worker(tmp_path, capsys, workers):
    tasks = [Touch(path=str(tmp_path / f"{i}.txt")) for i in range(3)]
    with batch_progress(tasks, enabled=True):
        assert luigi.build(tasks, local_scheduler=True, workers=workers, log_level="CRITICAL")
    assert "3/3" in capsys.readouterr().err


def test_no_bar_off_a_terminal(tmp_path, capsys):
    tasks = [Touch(path=str(tmp_path / "a.txt"))]
    with batch_progress(tasks):
        assert luigi.build(tasks, local_scheduler=True, log_level="CRITICAL")
    assert "1/1" not in capsys.readouterr().err


def test_tasks_outside_the_batch_are_not_counted(tmp_path, capsys):
    shown = [Touch(path=str(tmp_path / "shown.txt"))]
    other = Touch(path=str(tmp_path / "other.txt"))
    with batch_progress(shown, enabled=True):
        assert luigi.build([*shown, other], local_scheduler=True, log_level="CRITICAL")
    err = capsys.readouterr().err
    assert "1/1" in err
    assert "2/1" not in err
