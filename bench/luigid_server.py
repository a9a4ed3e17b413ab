"""A real luigid on a free loopback port for the benches (private state, no project configuration)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_luigid(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start luigid with its state and log in ``folder``; return the process once it accepts connections."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [str(Path(sys.executable).with_name("luigid")), "--address", "127.0.0.1", "--port", str(port)]
    command += ["--state-path", str(folder / "state.pickle"), "--logdir", str(folder)]
    env = {**os.environ, "LUIGI_CONFIG_PATH": os.devnull}  # no project or user configuration leaks in
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, port
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                sys.exit(f"luigid did not start on 127.0.0.1:{port}")
            time.sleep(0.1)
