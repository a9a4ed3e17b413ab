"""Only complete results are published: a full disk is exit 1 with nothing on the remote, never a bad file.

A result's name is versioned, so a truncated picture published once would be taken as done by every
machine, for good. These tests fill this machine's cache disk (a real tmpfs) at every point of the
result's write, and plant a truncated result in the cache.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import luigi
import pytest

from neural_style.image import check_image_file
from pset_4.tasks.stylize import Stylize

PAGE = 4096


def _pset_4(*args: str, remote: Path, cache: Path) -> list[str]:
    return [sys.executable, "-m", "pset_4", "--remote", str(remote), "--cache", str(cache), *args]


def _seed(remote: Path, photo: Path, model: Path) -> None:
    (remote / "images").mkdir(parents=True)
    (remote / "saved_models").mkdir()
    shutil.copyfile(photo, remote / "images" / "ph0.jpg")
    shutil.copyfile(model, remote / "saved_models" / "multistyle26.onnx")


def _used_kib(folder: Path) -> int:
    """What the files under ``folder`` take on a tmpfs: whole pages."""
    pages = sum(-(-path.stat().st_size // PAGE) for path in folder.rglob("*") if path.is_file())
    return pages * PAGE // 1024


def _published(remote: Path) -> list[Path]:
    return sorted(path for path in (remote / "stylized").rglob("*") if path.is_file())


@pytest.mark.slow
def test_a_full_cache_disk_never_publishes_a_truncated_picture(
    tiny_disk, make_photo, multistyle, tmp_path: Path
) -> None:
    photo = make_photo(tmp_path / "ph0.jpg", 800, 600)
    args = ("-i", "ph0.jpg", "-m", "multistyle26.onnx", "--style", "17", "--no-contact-sheet")
    # A run with room to spare tells what the cache holds at the end, and the result's size.
    _seed(tmp_path / "remote-0", photo, multistyle)
    first = subprocess.run(
        _pset_4(*args, remote=tmp_path / "remote-0", cache=tmp_path / "cache-0"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    needed_kib = _used_kib(tmp_path / "cache-0")
    result_kib = _used_kib(tmp_path / "cache-0" / "stylized")
    size_kib = needed_kib + 256
    codes = set()
    # Free space from "the inputs fit, the result's first page does not" to "everything fits".
    for step in range(9):
        free_kib = needed_kib - result_kib + step * result_kib // 7
        remote, cache = tmp_path / f"remote-{free_kib}", tmp_path / f"cache-{free_kib}"
        _seed(remote, photo, multistyle)
        ran = tiny_disk.run(
            _pset_4(*args, remote=remote, cache=cache), mountpoint=cache, size_kib=size_kib, free_kib=free_kib
        )
        codes.add(ran.returncode)
        where = f"{free_kib} KiB free: exit {ran.returncode}\n{ran.stderr[-2000:]}"
        assert "Traceback" not in ran.stderr, where
        if ran.returncode == 0:
            [result] = _published(remote)
            check_image_file(result)
        else:
            assert ran.returncode == 1, where
            assert _published(remote) == [], where
            assert "No space left on device" in ran.stderr, where
    assert codes == {0, 1}


def test_an_incomplete_cached_result_is_made_again_not_published(roots, make_photo, multistyle) -> None:
    make_photo(roots.remote_images / "ph0.jpg", 96, 64)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multistyle26.onnx")
    task = Stylize(image="ph0.jpg", model="multistyle26.onnx", style="3")
    cached = Path(task.cached_output().path)
    make_photo(cached, 96, 64)
    whole = cached.read_bytes()
    cached.write_bytes(whole[: len(whole) // 2])  # what a full disk used to leave

    assert luigi.build([task], local_scheduler=True, workers=1, log_level="WARNING")

    [published] = _published(roots.remote)
    check_image_file(published)
    check_image_file(cached)
    assert published.read_bytes() == cached.read_bytes()
    assert published.stat().st_size != len(whole) // 2
