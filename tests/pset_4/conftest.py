"""Fixtures for the workflow tests: private roots, tiny generated inputs, a real luigid."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pset_4.settings import CACHE_ENV, REMOTE_ENV, configured


@dataclass(frozen=True)
class Roots:
    remote: Path
    cache: Path

    @property
    def remote_images(self) -> Path:
        return self.remote / "images"

    @property
    def remote_models(self) -> Path:
        return self.remote / "saved_models"

    @property
    def stylized(self) -> Path:
        return self.cache / "stylized"


@pytest.fixture
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Roots]:
    """Point the workflow at a fresh remote folder and cache under tmp_path, and work from there.

    In this process through Luigi's configuration; for the processes a test starts through ``$PSET4_*``.
    """
    found = Roots(remote=tmp_path / "remote", cache=tmp_path / "cache")
    with configured(remote_root=str(found.remote), cache_root=str(found.cache)):
        monkeypatch.setenv(REMOTE_ENV, str(found.remote))
        monkeypatch.setenv(CACHE_ENV, str(found.cache))
        monkeypatch.chdir(tmp_path)
        yield found


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TransformerNet checkpoint with random weights in the published format."""
    import torch

    from neural_style.torch.model import TransformerNet, save_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "random.pth"
    save_checkpoint(TransformerNet(), path)
    return path


@pytest.fixture(scope="session")
def multistyle() -> Path:
    from neural_style.loading import multistyle_model_path

    return multistyle_model_path()


@pytest.fixture
def luigid(tmp_path: Path, local_server) -> Iterator[int]:
    """Start a real central scheduler on 127.0.0.1 (a free port, a private state file); yield its port."""
    logdir = tmp_path / "luigid-log"
    logdir.mkdir()
    luigid_bin = Path(sys.executable).with_name("luigid")

    def command(port: int) -> list[str]:
        state = tmp_path / "luigid-state.pickle"
        args = ["--address", "127.0.0.1", "--port", str(port), "--state-path", str(state)]
        return [str(luigid_bin), *args, "--logdir", str(logdir)]

    env = {**os.environ, "LUIGI_CONFIG_PATH": str(write_fast_timeouts(tmp_path / "luigid.cfg"))}
    with local_server(command, env=env, what="luigid") as port:
        yield port


# Timeouts short enough that a dead worker's task moves on in seconds (luigi.cfg has the real ones).
FAST_TIMEOUTS = """
[scheduler]
retry_delay = 1
worker_disconnect_delay = 3
prune_on_get_work = true

[worker]
ping_interval = 0.5
"""


def write_fast_timeouts(path: Path) -> Path:
    """Write a Luigi configuration with test-sized heartbeat and retry timeouts; return its path."""
    path.write_text(FAST_TIMEOUTS)
    return path
