"""Fixtures shared by every test package (each area adds its own conftest below tests/)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from PIL import Image

# No test here is about how long an example takes: Hypothesis' default 200 ms deadline failed property
# tests on a busy core (255-511 ms), so every property test runs without one.
settings.register_profile("csci", deadline=None)
settings.load_profile("csci")

# Dummy values for a local moto server only; real runs never see these.
_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# Settings from the developer's own machine that would send test traffic elsewhere or slow it down.
_HOST_AWS_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION")


@pytest.fixture(scope="session", autouse=True)
def engine_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Optimised ONNX graphs and style vectors go to a temporary folder, never the user's cache.

    Subprocesses inherit it; "machines" that must share nothing set their own.
    """
    folder = tmp_path_factory.mktemp("engine-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURAL_STYLE_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """Start moto's standalone S3 server on 127.0.0.1 (a free port) for the session; yield its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """Point boto3 and luigi's S3 clients at the moto server with dummy keys; make a fresh bucket.

    botocore honours ``AWS_ENDPOINT_URL_S3``, so an unconfigured ``luigi.contrib.s3.S3Target`` (and
    ``target_for("s3://...")``) reaches the server with no luigi.cfg. ``AWS_CONFIG_FILE`` and
    ``AWS_SHARED_CREDENTIALS_FILE`` point at empty files so a developer's own profile cannot leak in.
    """
    import boto3

    empty = tmp_path_factory.mktemp("aws") / "empty"
    empty.write_text("")
    for name in _HOST_AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        **_FAKE_AWS_ENV,
        "AWS_ENDPOINT_URL_S3": s3_endpoint,
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    name = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def _free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serving(command: Callable[[int], list[str]], *, env: Mapping[str, str], what: str) -> Iterator[int]:
    """Run ``command(port)`` on a free loopback port, wait until it accepts connections, stop it after."""
    port = _free_port()
    with subprocess.Popen(
        command(port), env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as server:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"{what} did not start on 127.0.0.1:{port}")
                    time.sleep(0.1)
            yield port
        finally:
            server.terminate()
            server.wait(timeout=10)


@pytest.fixture(scope="session")
def local_server() -> Callable[..., AbstractContextManager[int]]:
    """Start a real server process on 127.0.0.1: ``with local_server(command, env=..., what=...) as port``.

    ``command`` takes the free port chosen for the server and returns its argv.
    """
    return _serving


def write_photo(path: Path, width: int = 48, height: int = 40, *, seed: int = 0, mode: str = "RGB") -> Path:
    """Write a small photo-like picture (gradients plus a little noise); the format follows the suffix."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    channels = [
        127 + 100 * np.sin(x / (5 + 3 * c) + y / (7 + c) + rng.uniform(0, 6)) + rng.normal(0, 8, x.shape)
        for c in range(3)
    ]
    array = np.clip(np.stack(channels, axis=-1), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, "RGB").convert(mode).save(path)
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A small photo in tmp_path."""
    return write_photo(tmp_path / "photo.png")


@pytest.fixture(scope="session")
def make_photo() -> Callable[..., Path]:
    """The :func:`write_photo` helper, for tests that need pictures of a given size, seed or mode."""
    return write_photo


class TinyDisk:
    """Runs a command with a small real tmpfs mounted at a folder, in a mount namespace of its own.

    The mount exists only for that command and its children (it goes away with them, whatever happens),
    so a test can fill a disk to the last page without touching the machine's.
    """

    def __init__(self, unshare: tuple[str, ...]) -> None:
        self.unshare = unshare

    def run(
        self,
        argv: list[str],
        *,
        mountpoint: Path,
        size_kib: int,
        free_kib: int | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 240,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` with a ``size_kib`` tmpfs at ``mountpoint``, a ``.filler`` leaving ``free_kib``."""
        mountpoint.mkdir(parents=True, exist_ok=True)
        filler = 0 if free_kib is None else max(size_kib - free_kib, 0) * 1024
        script = (
            'mount -t tmpfs -o size="$1"k tmpfs "$2" && head -c "$3" /dev/zero > "$2/.filler" '
            '&& shift 3 && exec "$@"'
        )
        command = [
            *self.unshare,
            "sh",
            "-c",
            script,
            "sh",
            str(size_kib),
            str(mountpoint),
            str(filler),
            *argv,
        ]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def tiny_disk(tmp_path_factory: pytest.TempPathFactory) -> TinyDisk:
    """A :class:`TinyDisk`; skips where this user cannot mount a tmpfs in a namespace of its own."""
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's unshare to mount a small tmpfs")
    unshare = ("unshare", "--mount") if os.geteuid() == 0 else ("unshare", "--mount", "--map-root-user")
    probe = TinyDisk(unshare).run(
        ["true"], mountpoint=tmp_path_factory.mktemp("tmpfs-probe"), size_kib=64, timeout=30
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a mount namespace here ({probe.stderr.strip()[:200]})")
    return TinyDisk(unshare)
