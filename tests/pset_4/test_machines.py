"""Machines that share only the remote (a folder or S3) and one luigid run one batch together.

Each machine is a ``python -m pset_4`` process with its own cache, working directory and HOME; nothing but
the remote and the central scheduler is shared.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from tests.pset_4.conftest import write_fast_timeouts

IMAGES = [f"p{i}.png" for i in range(3)]
STYLES = ["0", "7"]
PAIRS = len(IMAGES) * len(STYLES)

Machine = Callable[..., subprocess.Popen[str]]


def _lines(text: str, prefix: str) -> list[str]:
    return [line.removeprefix(prefix) for line in text.splitlines() if line.startswith(prefix)]


@pytest.fixture(params=["folder", "s3"])
def remote_root(request: pytest.FixtureRequest, tmp_path: Path, make_photo, multistyle) -> str:
    """A remote (a folder, or a prefix of a fresh moto bucket) holding the photos and the 26-style model."""
    seed = tmp_path / "seed"
    for i, name in enumerate(IMAGES):
        make_photo(seed / "images" / name, 32, 24, seed=i)
    (seed / "saved_models").mkdir()
    shutil.copyfile(multistyle, seed / "saved_models" / "multi.onnx")
    if request.param == "folder":
        shutil.copytree(seed, tmp_path / "remote")
        return str(tmp_path / "remote")
    bucket = request.getfixturevalue("s3_bucket")
    client = boto3.client("s3")
    for path in seed.rglob("*"):
        if path.is_file():
            client.upload_file(str(path), bucket, f"pset_4/{path.relative_to(seed).as_posix()}")
    return f"s3://{bucket}/pset_4"


@pytest.fixture
def machine(tmp_path: Path, remote_root: str, luigid: int) -> Machine:
    """Start ``python -m pset_4 ARGS`` as machine ``name``: own cache, cwd, HOME; shared remote, luigid."""
    config = write_fast_timeouts(tmp_path / "machines.cfg")

    def start(name: str, *args: str) -> subprocess.Popen[str]:
        home = tmp_path / name
        (home / "work").mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "HOME": str(home),
            "PSET4_REMOTE_ROOT": remote_root,
            "PSET4_CACHE_ROOT": str(home / "cache"),
            "NEURAL_STYLE_CACHE": str(home / "engine-cache"),
            "PSET4_ENGINE_THREADS": "1",
            "LUIGI_CONFIG_PATH": str(config),
        }
        argv = [sys.executable, "-m", "pset_4", "--scheduler-host", "127.0.0.1"]
        argv += ["--scheduler-port", str(luigid)]
        return subprocess.Popen(
            [*argv, *args],
            cwd=home / "work",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    return start


def _batch(*images: str) -> list[str]:
    args = ["-m", "multi.onnx"]
    for name in images or IMAGES:
        args += ["-i", name]
    for style in STYLES:
        args += ["--style", style]
    return args


def _finish(*workers: subprocess.Popen[str]) -> list[tuple[int, str, str]]:
    results = [worker.communicate(timeout=300) for worker in workers]
    return [(w.returncode, out, err) for w, (out, err) in zip(workers, results, strict=True)]


def _stylized(err: str) -> list[str]:
    return re.findall(r"pset_4: stylized (.+?) in \d", err)


@pytest.mark.slow
def test_two_machines_each_report_every_result_and_stylize_each_pair_once(
    machine: Machine, tmp_path: Path
) -> None:
    finished = _finish(machine("a", *_batch()), machine("b", *_batch()))
    for code, out, err in finished:
        assert code == 0, err
        assert len(_lines(out, "published: ")) == PAIRS
        assert len(_lines(out, "contact sheet: ")) == 1
        assert "not granted run permission" not in out
    ran = Counter(task for _, _, err in finished for task in _stylized(err))
    assert len(ran) == PAIRS
    assert set(ran.values()) == {1}


@pytest.mark.slow
def test_two_machines_of_one_batch_publish_one_gallery_page_of_every_result(
    machine: Machine, remote_root: str
) -> None:
    finished = _finish(machine("a", *_batch()), machine("b", *_batch()))
    pages = {tuple(_lines(out, "gallery: ")) for _, out, _ in finished}
    assert len(pages) == 1
    if remote_root.startswith("s3://"):
        bucket = remote_root.removeprefix("s3://").split("/")[0]
        body = boto3.client("s3").get_object(Bucket=bucket, Key="pset_4/gallery/index.html")["Body"].read()
    else:
        body = (Path(remote_root) / "gallery" / "index.html").read_bytes()
    cards = re.findall(r'data-style="multi style (\d+)"', body.decode("utf-8"))
    assert sorted(cards) == sorted(STYLES * len(IMAGES))


@pytest.mark.slow
def test_a_third_fresh_machine_afterwards_computes_and_downloads_nothing(
    machine: Machine, tmp_path: Path
) -> None:
    for code, _, err in _finish(machine("a", *_batch()), machine("b", *_batch())):
        assert code == 0, err
    ((code, out, err),) = _finish(machine("c", *_batch(), "--no-contact-sheet"))
    assert code == 0, err
    assert _stylized(err) == []
    assert f"{PAIRS} of them already done" in out
    assert len(_lines(out, "remote only: ")) == PAIRS
    assert not (tmp_path / "c" / "cache").exists()


@pytest.mark.slow
def test_fetch_downloads_the_results_only_the_remote_has(machine: Machine, tmp_path: Path) -> None:
    ((code, _, err),) = _finish(machine("a", *_batch(IMAGES[0])))
    assert code == 0, err
    ((code, out, err),) = _finish(machine("b", *_batch(IMAGES[0]), "--fetch"))
    assert code == 0, err
    outputs = _lines(out, "output: ")
    assert len(outputs) == len(STYLES)
    assert all(Path(p).is_file() and tmp_path / "b" / "cache" in Path(p).parents for p in outputs)
    (sheet,) = _lines(out, "contact sheet: ")
    assert Path(sheet).is_file()


@pytest.mark.slow
def test_a_failed_task_is_reported_with_its_reason_by_every_machine_and_a_rerun_after_the_fix_does_it(
    machine: Machine, remote_root: str, tmp_path: Path, make_photo
) -> None:
    if remote_root.startswith("s3://"):
        pytest.skip("the folder remote covers the scheduler's behaviour; S3 only changes storage")
    corrupt = Path(remote_root, "images", "bad.png")
    corrupt.write_bytes(b"\x89PNG not a photo")
    args = _batch(IMAGES[0], "bad.png")
    finished = _finish(machine("a", *args), machine("b", *args))
    for code, _, err in finished:
        assert code == 4, err  # an unusable input (csci_utils.exit_codes)
        assert _lines(err, "SKIPPED: ") == [str(corrupt)], err
        assert "  reason: " in err
        assert "FAILED" not in err
        assert "Traceback" not in err
    make_photo(corrupt, 32, 24, seed=9)
    ((code, out, err),) = _finish(machine("a", *args))
    assert code == 0, err
    assert len(_lines(out, "published: ")) == 2 * len(STYLES)


@pytest.mark.slow
def test_a_machine_killed_mid_task_hands_the_task_to_another_after_its_heartbeat_stops(
    machine: Machine, remote_root: str, tmp_path: Path, make_photo
) -> None:
    if remote_root.startswith("s3://"):
        pytest.skip("the folder remote covers the scheduler's behaviour; S3 only changes storage")
    make_photo(Path(remote_root, "images", "big.png"), 1024, 768)
    args = ["-i", "big.png", "-m", "multi.onnx", "--style", "4", "--no-contact-sheet"]
    first = machine("a", *args)
    writing = tmp_path / "a" / "cache" / "stylized"
    deadline = time.monotonic() + 120
    while not (writing.is_dir() and any(writing.iterdir())):
        assert first.poll() is None, "machine a finished before it could be killed"
        assert time.monotonic() < deadline, "machine a never started stylizing"
        time.sleep(0.01)
    second = machine("b", *args)
    first.kill()
    first.communicate(timeout=30)
    ((code, out, err),) = _finish(second)
    assert code == 0, err
    assert _stylized(err) == ["big.png with multi.onnx style 4"]
    assert len(_lines(out, "published: ")) == 1
