"""Grouped tasks (one per photo x model): the same files as one task per pair, from fewer tasks.

The prototype lives in bench/grouping.py, beside the bench that measures it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import luigi
import pytest

from pset_4 import render
from pset_4.batch import Batch
from pset_4.workflow import run_batch
from tests.bench_modules import load_bench_module

grouping = load_bench_module("grouping")
StylizeGroup = grouping.StylizeGroup
grouped_tasks = grouping.grouped_tasks

STYLES = ["0", "7", "19"]


@pytest.fixture
def remote(roots, make_photo: Callable[..., Path], multistyle: Path):
    for i in range(2):
        make_photo(roots.remote_images / f"p{i}.png", seed=i)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    render.clear()
    return roots


def build(tasks) -> bool:
    return luigi.build(list(tasks), local_scheduler=True, workers=1, log_level="CRITICAL")


def test_one_group_task_per_photo_and_model() -> None:
    tasks = grouped_tasks(Batch(["a.png", "b.png"], ["m.onnx"], STYLES))
    assert [(t.image, list(t.styles)) for t in tasks] == [("a.png", STYLES), ("b.png", STYLES)]


def test_groups_publish_exactly_what_per_pair_tasks_would(remote) -> None:
    batch = Batch(["p0.png", "p1.png"], ["multi.onnx"], STYLES)
    assert build(grouped_tasks(batch))
    published = sorted(p.name for p in (remote.remote / "stylized").iterdir())
    report = run_batch(batch, sheet=False, log_level="CRITICAL")
    assert report.ok
    assert sorted(Path(p).name for p in report.published) == published
    assert len(published) == 6
    assert sorted(p.name for p in remote.stylized.iterdir()) == published


def test_a_group_resumes_with_only_the_styles_it_lacks(remote) -> None:
    batch = Batch(["p0.png"], ["multi.onnx"], STYLES[:1])
    assert run_batch(batch, sheet=False, log_level="CRITICAL").ok
    first = next(remote.stylized.iterdir())
    before = first.stat().st_mtime_ns
    assert build([StylizeGroup(image="p0.png", model="multi.onnx", styles=STYLES)])
    assert first.stat().st_mtime_ns == before
    assert len(list(remote.stylized.iterdir())) == 3
