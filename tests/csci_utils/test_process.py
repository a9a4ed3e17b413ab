"""csci_utils.process: NumPy's BLAS on one thread; imports kept out of the collector's rescans; a finished
command ends at once, unless teardown matters."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from csci_utils.process import long_lived_imports

_SCRIPT = """
import atexit, logging, sys, threading, time
from csci_utils.process import quick_exit

logging.basicConfig(level=logging.INFO, format="%(message)s")
atexit.register(lambda: print("teardown ran", flush=True))
print("to stdout")  # buffered: a pipe is not a terminal
print("to stderr", file=sys.stderr)
logging.getLogger("demo").info("a log line")
{extra}
quick_exit({status})
"""


def _script(body: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(body)], capture_output=True, text=True, check=False, env=env
    )


def _run(status: int, extra: str = "") -> subprocess.CompletedProcess[str]:
    return _script(_SCRIPT.format(status=status, extra=extra))


def test_the_status_and_every_output_line_get_out() -> None:
    done = _run(3)
    assert done.returncode == 3
    assert done.stdout.splitlines()[0] == "to stdout"
    assert "to stderr" in done.stderr
    assert "a log line" in done.stderr


def test_teardown_is_skipped_when_nothing_needs_it() -> None:
    done = _run(0)
    assert done.returncode == 0
    assert "teardown ran" not in done.stdout


@pytest.mark.parametrize(
    ("status", "extra"),
    [
        pytest.param(0, "threading.Thread(target=time.sleep, args=(0.3,)).start()", id="a live thread"),
        pytest.param(4, "sys.settrace(lambda *args: None)", id="a tracer"),
        pytest.param(
            0,
            "import multiprocessing; multiprocessing.Process(target=time.sleep, args=(0.3,)).start()",
            id="a live child process",
        ),
    ],
)
def test_what_teardown_must_wait_for_gets_a_normal_exit(status: int, extra: str) -> None:
    done = _run(status, extra)
    assert done.returncode == status
    assert "teardown ran" in done.stdout


def test_multiprocessing_s_temporary_folder_is_removed_by_a_normal_exit() -> None:
    done = _run(0, "import multiprocessing.util; print(multiprocessing.util.get_temp_dir(), flush=True)")
    assert done.returncode == 0
    assert "teardown ran" in done.stdout
    folder = Path(done.stdout.splitlines()[1])
    assert folder.name.startswith("pymp-")
    assert not folder.exists()


def test_the_collector_is_paused_in_the_block_and_back_after_it() -> None:
    done = _script(
        """
        import gc
        from csci_utils.process import long_lived_imports
        with long_lived_imports():
            print(gc.isenabled())
            import json  # noqa: F401
        print(gc.isenabled(), gc.get_freeze_count() > 0)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"]


def test_a_paused_collector_stays_paused() -> None:
    done = _script(
        """
        import gc
        from csci_utils.process import long_lived_imports
        gc.disable()
        with long_lived_imports():
            pass
        print(gc.isenabled())
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]


def test_an_import_error_gets_out_unchanged_with_the_collector_back() -> None:
    assert gc.isenabled()
    with pytest.raises(ModuleNotFoundError, match="no_such_module_here"), long_lived_imports():
        import no_such_module_here  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()
    gc.unfreeze()  # the test process's objects go back to the collector


_THREADS_AFTER_NUMPY = """
import os
from csci_utils.process import numpy_blas_on_one_thread

numpy_blas_on_one_thread()
import numpy
print(os.environ["OPENBLAS_NUM_THREADS"], len(os.listdir("/proc/self/task")))
"""


def _without_blas_setting() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads in /proc")
def test_numpy_starts_no_blas_threads_after_the_call() -> None:
    done = _script(_THREADS_AFTER_NUMPY, env=_without_blas_setting())
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "1"]


def test_a_blas_thread_count_the_user_set_is_kept() -> None:
    done = _script(_THREADS_AFTER_NUMPY, env={**_without_blas_setting(), "OPENBLAS_NUM_THREADS": "3"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "3"
