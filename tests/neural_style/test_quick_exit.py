"""cli.quick_exit: a finished command ends at once with all its output, unless teardown matters."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_SCRIPT = """
import atexit, logging, sys, threading, time
from neural_style.cli import quick_exit

logging.basicConfig(level=logging.INFO, format="%(message)s")
atexit.register(lambda: print("teardown ran", flush=True))
print("to stdout")  # buffered: a pipe is not a terminal
print("to stderr", file=sys.stderr)
logging.getLogger("demo").info("a log line")
{extra}
quick_exit({status})
"""


def _run(status: int, extra: str = "") -> subprocess.CompletedProcess[str]:
    script = _SCRIPT.format(status=status, extra=textwrap.dedent(extra))
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)


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


def test_a_live_thread_gets_a_normal_exit() -> None:
    done = _run(0, "threading.Thread(target=time.sleep, args=(0.3,)).start()")
    assert done.returncode == 0
    assert "teardown ran" in done.stdout


def test_a_tracer_gets_a_normal_exit() -> None:
    done = _run(4, "sys.settrace(lambda *args: None)")
    assert done.returncode == 4
    assert "teardown ran" in done.stdout
