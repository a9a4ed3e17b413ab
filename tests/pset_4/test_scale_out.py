"""A real luigid and several worker processes sharing one remote: every task runs exactly once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

IMAGES = [f"photo{i}.jpg" for i in range(6)]
STYLES = ["0", "7", "19"]


@pytest.mark.slow
def test_two_workers_share_a_batch_and_run_every_stylize_exactly_once(
    roots, make_photo, multistyle, luigid
) -> None:
    for i, name in enumerate(IMAGES):
        make_photo(roots.remote_images / name, 64, 48, seed=i)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    argv = [sys.executable, "-m", "pset_4", "-m", "multi.onnx", "--scheduler-host", "127.0.0.1"]
    argv += ["--scheduler-port", str(luigid), "--workers", "2"]
    for name in IMAGES:
        argv += ["-i", name]
    for style in STYLES:
        argv += ["--style", style]
    workers = [
        subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
        )
        for _ in range(2)
    ]
    results = [worker.communicate(timeout=240) for worker in workers]
    for worker, (_, err) in zip(workers, results, strict=True):
        assert worker.returncode == 0, err
    ran = Counter(match for _, err in results for match in re.findall(r"pset_4: stylized (.+?) in \d", err))
    assert len(ran) == len(IMAGES) * len(STYLES)
    assert set(ran.values()) == {1}
    outputs = sorted(roots.stylized.iterdir())
    assert len(outputs) == len(IMAGES) * len(STYLES)
    for output in outputs:
        with Image.open(output) as picture:
            picture.load()
            assert picture.size == (64, 48)
        assert (roots.remote / "stylized" / output.name).read_bytes() == output.read_bytes()
    leftovers = [*Path(roots.cache).rglob(".*"), *Path(roots.remote).rglob(".*")]
    assert leftovers == []


@pytest.mark.slow
def test_a_failed_task_does_not_keep_central_workers_waiting(roots, make_photo, multistyle, luigid) -> None:
    make_photo(roots.remote_images / "good.jpg")
    (roots.remote_images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not a photo")
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    argv = [sys.executable, "-m", "pset_4", "-i", "good.jpg", "-i", "corrupt.jpg", "-m", "multi.onnx"]
    argv += ["--style", "2", "--scheduler-host", "127.0.0.1", "--scheduler-port", str(luigid)]
    workers = [
        subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy()
        )
        for _ in range(2)
    ]
    results = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [4, 4]  # an unusable input (csci_utils.exit_codes)
    for _, err in results:
        assert [line for line in err.splitlines() if line.startswith("SKIPPED: ")] == [
            f"SKIPPED: {roots.remote_images / 'corrupt.jpg'}"
        ]
    assert [p.name.split("--")[0] for p in roots.stylized.iterdir()] == ["good"]
