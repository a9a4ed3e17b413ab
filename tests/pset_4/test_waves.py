"""Running a batch in waves: every pair once, a photo's styles together, the same results as one build."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pset_4.batch import Batch
from pset_4.waves import run_in_waves, waves
from pset_4.workflow import run_batch

names = st.lists(st.from_regex(r"[a-z]{1,8}\.png", fullmatch=True), min_size=1, max_size=30, unique=True)
styles = st.lists(st.integers(0, 25).map(str), min_size=1, max_size=26, unique=True)


@pytest.mark.slow
@given(images=names, chosen=styles, wave_pairs=st.integers(1, 200))
def test_waves_cover_every_pair_exactly_once(images: list[str], chosen: list[str], wave_pairs: int) -> None:
    batch = Batch(images, ["multi.onnx"], chosen)
    pairs = [(t.image, t.style) for wave in waves(batch, wave_pairs) for t in wave.tasks()]
    assert pairs == [(t.image, t.style) for t in batch.tasks()]


@pytest.mark.slow
@given(images=names, chosen=styles, wave_pairs=st.integers(1, 200))
def test_a_wave_holds_at_most_its_pairs_or_one_photo(
    images: list[str], chosen: list[str], wave_pairs: int
) -> None:
    for wave in waves(Batch(images, ["multi.onnx"], chosen), wave_pairs):
        assert len(wave.tasks()) <= wave_pairs or len(wave.images) == 1


def test_the_property_tests_run_without_a_deadline() -> None:
    # On a busy core an example above took 255-511 ms, past Hypothesis' default 200 ms, and failed; how
    # long it takes is no part of the property (tests/conftest.py loads a profile without a deadline).
    assert settings.default.deadline is None


def test_a_wave_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="wave_pairs"):
        waves(Batch(["a.png"], ["multi.onnx"], ["0"]), 0)


def test_waves_publish_what_one_build_publishes(
    roots, make_photo: Callable[..., Path], multistyle: Path
) -> None:
    for i in range(3):
        make_photo(roots.remote_images / f"p{i}.png", seed=i)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    batch = Batch([f"p{i}.png" for i in range(3)], ["multi.onnx"], ["0", "7"])
    in_waves = run_in_waves(batch, wave_pairs=2, log_level="CRITICAL")
    assert in_waves.ok
    assert in_waves.contact_sheet is not None
    again = run_batch(batch, sheet=False, log_level="CRITICAL")
    assert sorted(in_waves.published) == sorted(again.published)
    assert len(in_waves.published) == 6


# In a process of its own: pytest's log capture holds the test's log records, whose arguments are tasks.
TASKS_ALIVE_AFTER_WAVES = textwrap.dedent(
    """
    import gc, sys
    from pset_4.tasks.stylize import Stylize
    from pset_4.waves import run_in_waves
    from pset_4.batch import Batch

    names = sys.argv[1:]
    batch = Batch(names, ["multi.onnx"], ["0", "7"])
    assert run_in_waves(batch, wave_pairs=2, sheet=False, log_level="CRITICAL").ok
    gc.collect()
    print(" ".join(sorted({t.image for t in gc.get_objects() if type(t) is Stylize})))
    """
)


@pytest.mark.slow
def test_a_batch_in_waves_keeps_no_earlier_waves_tasks(
    roots, make_photo: Callable[..., Path], multistyle: Path
) -> None:
    names = [f"p{i}.png" for i in range(4)]
    for i, name in enumerate(names):
        make_photo(roots.remote_images / name, seed=i)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    command = [sys.executable, "-c", TASKS_ALIVE_AFTER_WAVES, *names]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert set(done.stdout.split()) <= {names[-1]}  # at most the last wave's, not every task of the batch
