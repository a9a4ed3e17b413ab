"""ONNX Runtime sessions: optimised once per machine and cached, the same picture from the cache, and the
loading thread that lets a command read its photo while the model loads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from neural_style._background import in_background
from neural_style.errors import NeuralStyleError
from neural_style.hardware import cpu_flags, physical_cores
from neural_style.loading import load_model, multistyle_model_path, stylize
from neural_style.onnx.sessions import graph_key
from tests.bench_modules import load_bench_module


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(folder))
    return folder


def _rgb(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (40, 48, 3), dtype=np.uint8)


def test_the_first_load_saves_the_optimised_graph(cache: Path) -> None:
    load_model(multistyle_model_path(), style=3)
    (entry,) = cache.iterdir()
    assert entry.name.startswith("multistyle26-")
    assert entry.suffix == ".onnx"


def test_a_model_from_its_cached_graph_gives_the_same_picture(cache: Path) -> None:
    fresh = load_model(multistyle_model_path(), style=3).stylize_array(_rgb())
    before = {p: p.stat().st_mtime_ns for p in cache.iterdir()}
    cached = load_model(multistyle_model_path(), style=3).stylize_array(_rgb())
    assert {p: p.stat().st_mtime_ns for p in cache.iterdir()} == before
    assert np.array_equal(cached, fresh)


def test_a_changed_model_file_gets_its_own_entry(cache: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    shutil.copyfile(multistyle_model_path(), model)
    first = graph_key(model)
    model.write_bytes(model.read_bytes() + b"\0")  # same graph, other bytes: another key
    assert graph_key(model) != first


def test_each_rewrite_of_a_model_gets_its_own_entry(cache: Path) -> None:
    plain = graph_key(multistyle_model_path())
    fused = graph_key(multistyle_model_path(), rewrite="neural_style.onnx.fusion.fused_graph@0.1.0")
    other = graph_key(multistyle_model_path(), rewrite="neural_style.onnx.fusion.fused_graph@0.2.0")
    assert len({plain, fused, other}) == 3


def test_a_rewrites_revision_is_in_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from neural_style.onnx import fusion
    from neural_style.onnx.sessions import _rewrite_name

    before = _rewrite_name(fusion.fused_graph)
    assert before.endswith(f"#{fusion.REVISION}")
    monkeypatch.setattr(fusion, "REVISION", fusion.REVISION + 1)  # a change to what the rewrite makes
    assert _rewrite_name(fusion.fused_graph) != before


def test_a_damaged_cached_graph_is_rebuilt(cache: Path) -> None:
    expected = load_model(multistyle_model_path(), style=5).stylize_array(_rgb())
    (entry,) = cache.iterdir()
    entry.write_bytes(b"damaged")
    assert np.array_equal(load_model(multistyle_model_path(), style=5).stylize_array(_rgb()), expected)
    assert entry.stat().st_size > 1000


def test_an_unwritable_cache_only_costs_the_saving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(blocker))
    assert load_model(multistyle_model_path(), style=1).stylize_array(_rgb()).shape == (40, 48, 3)


def test_a_broken_model_is_refused_and_nothing_is_cached(cache: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a graph")
    with pytest.raises(NeuralStyleError, match="not an ONNX model"):
        load_model(broken)
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_in_background_returns_the_value_from_another_thread_each_time_asked() -> None:
    where = in_background(lambda: threading.current_thread().name, name="loader")
    assert where() == "loader"
    assert where() == "loader"


def test_in_background_raises_the_calls_own_error() -> None:
    def fail() -> None:
        raise KeyError("the original")

    with pytest.raises(KeyError, match="the original"):
        in_background(fail, name="failing")()


def test_a_bad_model_is_reported_before_a_bad_photo(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a graph")
    with pytest.raises(NeuralStyleError, match="not an ONNX model"):
        stylize(tmp_path / "missing.jpg", broken, tmp_path / "out.png")
    assert not (tmp_path / "out.png").exists()


def test_a_bad_photo_with_a_good_model_is_the_photos_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="image not found"):
        stylize(tmp_path / "missing.jpg", multistyle_model_path(), tmp_path / "out.png")
    assert not (tmp_path / "out.png").exists()


PINNED_THREADS = textwrap.dedent(
    """
    import os
    from neural_style.loading import load_model, multistyle_model_path
    import numpy as np

    stylizer = load_model(multistyle_model_path(), style=1)
    stylizer.stylize_array(np.zeros((40, 48, 3), np.uint8))
    whole = os.sched_getaffinity(0)
    for thread in os.listdir("/proc/self/task"):
        if os.sched_getaffinity(int(thread)) != whole:
            print(thread)
    """
)


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread affinity is read from /proc")
@pytest.mark.skipif(_usable_cpus() < 2, reason="on one CPU there is no pool thread to pin")
def test_a_session_with_the_default_thread_count_pins_no_thread(cache: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PINNED_THREADS], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == []


def test_physical_cores_counts_the_cores_this_process_may_use() -> None:
    assert 1 <= physical_cores() <= (_usable_cpus() or os.cpu_count() or 1)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
def test_physical_cores_is_one_for_a_process_held_to_one_cpu() -> None:
    command = (
        "import os; os.sched_setaffinity(0, {0}); "
        "from neural_style.hardware import cpu_flags, physical_cores; print(physical_cores())"
    )
    done = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1"


STYLIZE_TO_NPY = textwrap.dedent(
    """
    import sys
    import numpy as np
    from neural_style.loading import load_model, multistyle_model_path

    photo = np.random.default_rng(7).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    np.save(sys.argv[1], load_model(multistyle_model_path(), style=2).stylize_array(photo))
    """
)


avx2_only = load_bench_module("avx2_only")


@pytest.mark.slow
# Only a CPU with AVX-512 has kernels that an AVX2-only view of it would not choose.
@pytest.mark.skipif("avx512f" not in cpu_flags(), reason="needs a CPU with AVX-512")
@pytest.mark.skipif(not avx2_only.can_mask(), reason="needs CPUID faulting and a C compiler")
def test_a_graph_cached_where_the_cpu_showed_avx512_is_not_used_where_it_shows_avx2_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # where the mask's library is built
    shared, fresh = tmp_path / "shared-cache", tmp_path / "fresh-cache"

    def stylize(cache: Path, name: str, *, masked: bool) -> np.ndarray:
        env = {**os.environ, "NEURAL_STYLE_CACHE": str(cache)}
        out = tmp_path / f"{name}.npy"
        command = [sys.executable, "-c", STYLIZE_TO_NPY, str(out)]
        subprocess.run(
            command, env=avx2_only.masked_environment(env) if masked else env, timeout=120, check=True
        )
        return np.load(out)

    with_avx512 = stylize(shared, "avx512", masked=False)
    after_avx512 = stylize(shared, "avx2-shared-cache", masked=True)
    alone = stylize(fresh, "avx2-own-cache", masked=True)

    np.testing.assert_array_equal(after_avx512, alone)
    assert np.abs(with_avx512.astype(int) - alone).max() <= 1
    assert len(list(shared.glob("*.onnx"))) == 2 * len(list(fresh.glob("*.onnx")))
