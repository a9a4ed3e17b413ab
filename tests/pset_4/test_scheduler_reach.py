"""A central scheduler that cannot be reached: one line naming host and port, before any work, in seconds."""

from __future__ import annotations

import http.server
import inspect
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import luigi
import luigi.configuration
import luigi.rpc
import pytest

from csci_utils.exit_codes import ExitCode
from pset_4.runtime.scheduling import (
    RetryingRemoteScheduler,
    SchedulerAddress,
    SchedulerUnreachableError,
    check_reachable,
    run_tasks,
)


def closed_port() -> int:
    """Return a loopback port that was free a moment ago (bound, then closed: nothing listens)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback server that accepts connections and never answers (a hung luigid or proxy); its port."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()
    for sock in held:
        sock.close()


@pytest.fixture
def web_server() -> Iterator[int]:
    """A loopback HTTP server that is not luigid (it answers 404 to everything); its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test's output quiet."""


@pytest.mark.parametrize(
    ("host", "port"),
    [
        # The README's placeholder: resolution fails on this machine, no network needed.
        ("HOST", 8082),
        ("127.0.0.1", None),  # a closed port
    ],
)
def test_an_unreachable_scheduler_is_one_line_and_nothing_is_uploaded(
    roots, make_photo, checkpoint: Path, host: str, port: int | None
) -> None:
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(checkpoint, roots.remote_models / "random.pth")
    photo = make_photo(roots.remote.parent / "mine.jpg")
    port = port or closed_port()
    command = [sys.executable, "-m", "pset_4", "-i", str(photo), "-m", "random.pth"]
    command += ["--scheduler-host", host, "--scheduler-port", str(port)]
    # The timeout only guards against a hang (Luigi alone took over a minute here).
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == ExitCode.FAILED
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"pset_4: error: cannot reach the central scheduler at {host}:{port} (")
    assert "luigid" in line
    assert "firewall" in line
    assert not roots.remote_images.exists()


def test_the_demo_seeds_nothing_when_the_scheduler_is_unreachable(roots) -> None:
    command = [sys.executable, "-m", "pset_4", "--demo", "--scheduler-host", "127.0.0.1"]
    command += ["--scheduler-port", str(closed_port())]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == ExitCode.FAILED
    assert len(done.stderr.splitlines()) == 1
    assert not roots.remote.exists()


def test_a_real_luigid_answers_the_check(luigid: int) -> None:
    check_reachable(SchedulerAddress("127.0.0.1", luigid), timeout_s=10)


def test_the_scheduler_in_this_process_needs_no_check() -> None:
    check_reachable(SchedulerAddress(), timeout_s=0.001)


def test_a_scheduler_that_never_answers_is_given_up_on(silent_server: int) -> None:
    with pytest.raises(SchedulerUnreachableError, match=r"no answer within 0\.5 s") as caught:
        check_reachable(SchedulerAddress("127.0.0.1", silent_server), timeout_s=0.5)
    assert f"127.0.0.1:{silent_server}" in str(caught.value)


def test_a_server_that_is_not_luigid_is_said_to_be_so(web_server: int) -> None:
    with pytest.raises(SchedulerUnreachableError, match=r"not as luigid does \(HTTP 404\)"):
        check_reachable(SchedulerAddress("127.0.0.1", web_server), timeout_s=10)


def test_the_wait_is_a_setting(roots) -> None:
    command = [sys.executable, "-m", "pset_4", "--scheduler-host", "127.0.0.1"]
    config = roots.remote.parent / "luigi.cfg"
    config.write_text("[pset_4]\nscheduler_connect_timeout = soon\n")
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(config)}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env, timeout=120)
    assert done.returncode == ExitCode.CONFIGURATION
    assert "scheduler_connect_timeout" in done.stderr
    assert "Traceback" not in done.stderr


class _Anything(luigi.Task):
    """A task a scheduler never gets to run here."""

    def complete(self) -> bool:
        return False


@pytest.mark.slow
def test_a_scheduler_lost_during_a_build_is_one_error_naming_it() -> None:
    port = closed_port()
    with pytest.raises(SchedulerUnreachableError, match=f"127.0.0.1:{port} stopped answering") as caught:
        run_tasks(
            [_Anything()], workers=1, scheduler=SchedulerAddress("127.0.0.1", port), log_level="CRITICAL"
        )
    assert isinstance(caught.value.__cause__, luigi.rpc.RPCError)
    assert "\n" not in str(caught.value)


def test_luigi_retries_a_request_after_seconds_not_half_a_minute() -> None:
    # The fence: RetryingRemoteScheduler sets the private attribute Luigi's retryer waits by.
    assert "self._rpc_retry_wait" in inspect.getsource(luigi.rpc.RemoteScheduler._get_retryer)
    assert RetryingRemoteScheduler("http://127.0.0.1:1")._rpc_retry_wait == 2


def test_a_retry_wait_set_in_luigi_cfg_wins() -> None:
    config = luigi.configuration.get_config()
    added = not config.has_section("core")
    if added:
        config.add_section("core")
    config.set("core", "rpc-retry-wait", "7")
    try:
        assert RetryingRemoteScheduler("http://127.0.0.1:1")._rpc_retry_wait == 7
    finally:
        config.remove_option("core", "rpc-retry-wait")
        if added:
            config.remove_section("core")
