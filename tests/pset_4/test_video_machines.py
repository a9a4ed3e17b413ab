"""Two machines sharing only a folder remote and one real luigid split the segments of one clip."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from neural_style.video import probe
from neural_style.video.synthetic import ClipSpec, make_clip
from tests.pset_4.conftest import write_fast_timeouts

# 8 segments of half a second (keyframes every 15 frames), frames large enough that each takes a while.
CLIP = ClipSpec(width=256, height=192, seconds=4.0, keyframe_interval=15)
SEGMENTS = 8


@pytest.fixture
def remote(tmp_path: Path, multistyle: Path) -> Path:
    root = tmp_path / "remote"
    (root / "images").mkdir(parents=True)
    (root / "saved_models").mkdir()
    make_clip(root / "images" / "clip.mp4", CLIP)
    shutil.copyfile(multistyle, root / "saved_models" / "multi.onnx")
    return root


def _start(tmp_path: Path, remote: Path, port: int, name: str) -> subprocess.Popen[str]:
    """Start ``python -m pset_4`` as machine ``name``: its own cache, cwd and HOME; shared remote, luigid."""
    config = write_fast_timeouts(tmp_path / "machines.cfg")
    with config.open("a") as f:
        f.write("\n[pset_4_video]\nsegment_seconds = 0.5\n")
    home = tmp_path / name
    (home / "work").mkdir(parents=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "PSET4_REMOTE_ROOT": str(remote),
        "PSET4_CACHE_ROOT": str(home / "cache"),
        "NEURAL_STYLE_CACHE": str(home / "engine-cache"),
        "PSET4_ENGINE_THREADS": "1",
        "LUIGI_CONFIG_PATH": str(config),
    }
    argv = [sys.executable, "-m", "pset_4", "--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)]
    argv += ["-i", "clip.mp4", "-m", "multi.onnx", "--style", "3", "--no-contact-sheet"]
    return subprocess.Popen(
        argv, cwd=home / "work", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _parts_done(err: str) -> list[str]:
    found = re.findall(r"(clip\.mp4 part \d+)/\d+: frames \d+-\d+ of \d+: (\d+)/(\d+) done", err)
    return [part for part, done, total in found if done == total]


@pytest.mark.slow
def test_two_machines_on_one_luigid_split_the_segments_of_a_clip(
    tmp_path: Path, remote: Path, luigid: int
) -> None:
    machines = [_start(tmp_path, remote, luigid, name) for name in ("a", "b")]
    results = [(m, *m.communicate(timeout=300)) for m in machines]
    for machine, out, err in results:
        assert machine.returncode == 0, err
        assert len([line for line in out.splitlines() if line.startswith("published: ")]) == 1
    by_machine = [Counter(_parts_done(err)) for _, _, err in results]
    together = sum(by_machine, Counter())
    assert len(together) == SEGMENTS
    assert set(together.values()) == {1}  # no segment stylized twice
    assert all(by_machine), f"one machine did every segment: {by_machine}"
    (published,) = (remote / "stylized").glob("*.mp4")
    assert probe(published).frame_count == CLIP.frame_count
