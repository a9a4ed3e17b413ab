"""A write that fails names the user's file and the real cause, never a hidden temp name: on a real disk.

Every writer (``atomic_write`` with a file or a path, a target's ``open('w')`` in bytes and in text, its
``temporary_path()``, ``copy_target``) writes onto a tmpfs of its own, read-only or 64 KiB small, in a
child process with a mount namespace of its own (``unshare --mount``: the mount goes away with it). Each
failure must read ``[Errno N] <strerror>: '<target>'`` and leave neither the target nor a temp file.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

# Runs in the child, as root of its mount namespace: argv = the tmpfs folder, "ro" or "full", a source
# file on the real disk for copy_target.
_WRITE_EVERY_WAY = r"""
import json, subprocess, sys
from pathlib import Path

from csci_utils.io import atomic_write
from csci_utils.luigi.copy import copy_target
from csci_utils.luigi.locations import target_for

disk, kind, source = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
data = b"x" * 200_000  # more than the small disk holds


def atomic_write_file(path):
    with atomic_write(path, "wb") as f:
        f.write(data)


def atomic_write_path(path):
    with atomic_write(path, "wb", as_file=False) as temp:
        Path(temp).write_bytes(data)


def open_bytes(path):
    with target_for(path, binary=True).open("w") as f:
        f.write(data)


def open_text(path):
    with target_for(path).open("w") as f:
        f.write(data.decode())


def temporary_path(path):
    with target_for(path).temporary_path() as temp:
        Path(temp).write_bytes(data)


def copy(path):
    copy_target(target_for(source, binary=True), target_for(path, binary=True))


writers = [atomic_write_file, atomic_write_path, open_bytes, open_text, temporary_path, copy]
for write in writers:
    (disk / write.__name__).mkdir()
if kind == "ro":
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
results = {}
for write in writers:
    for where in ["out.jpg", "new/folder/out.jpg"]:  # the second: a fresh cache, its folders not made yet
        target = disk / write.__name__ / where
        try:
            write(str(target))
        except OSError as err:
            outcome = {"type": type(err).__name__, "errno": err.errno, "filename": err.filename}
            outcome["text"] = str(err)
        else:
            outcome = {"type": None}
        outcome["target"] = str(target)
        outcome["left"] = sorted(p.name for p in (disk / write.__name__).rglob("*") if not p.is_dir())
        results[f"{write.__name__}:{where}"] = outcome
print(json.dumps(results))
"""

Outcomes = dict[str, dict[str, Any]]
_WRITERS = ["atomic_write_file", "atomic_write_path", "open_bytes", "open_text", "temporary_path", "copy"]
# atomic_write makes no folders; the others write into ones not made yet too.
_CASES = [f"{w}:out.jpg" for w in _WRITERS] + [
    f"{w}:new/folder/out.jpg" for w in _WRITERS if not w.startswith("atomic_write")
]


@pytest.fixture(scope="module")
def write_on_tmpfs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Outcomes]:
    """Return ``write(kind)``: the outcome of every writer on a fresh "ro" or "full" tmpfs, by case."""
    if sys.platform != "linux" or shutil.which("unshare") is None:
        pytest.skip("needs Linux and util-linux's unshare to mount a tmpfs of its own")
    unshare = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "--mount", "--map-root-user"]
    source = tmp_path_factory.mktemp("source") / "photo.jpg"
    source.write_bytes(b"y" * 200_000)
    done: dict[str, Outcomes] = {}

    def write(kind: str) -> Outcomes:
        if kind not in done:
            folder = tmp_path_factory.mktemp(f"tmpfs-{kind}")
            mount = 'mount -t tmpfs -o size=64k tmpfs "$0" || exit 99; exec "$@"'
            child = [sys.executable, "-c", _WRITE_EVERY_WAY, str(folder), kind, str(source)]
            ran = subprocess.run(
                [*unshare, "sh", "-c", mount, str(folder), *child],
                capture_output=True,
                text=True,
                timeout=240,
                check=False,
            )
            if ran.returncode == 99 or (ran.returncode != 0 and "unshare" in ran.stderr):
                pytest.skip(f"cannot mount a tmpfs in a mount namespace here: {ran.stderr.strip()[:200]}")
            assert ran.returncode == 0, ran.stderr
            done[kind] = json.loads(ran.stdout)
        return done[kind]

    return write


def _expect(outcome: dict[str, Any], code: int) -> None:
    """Check one failed write: the right errno, the target's name, nothing left behind."""
    target = outcome["target"]
    assert outcome["type"] is not None, "the write succeeded"
    assert (outcome["errno"], outcome["filename"]) == (code, target), outcome["text"]
    assert outcome["text"] == f"[Errno {code}] {os.strerror(code)}: {target!r}"
    assert outcome["left"] == [], "the target or a temp file was left behind"


@pytest.mark.parametrize("case", _CASES)
def test_a_read_only_folder_names_the_target_and_says_read_only(
    write_on_tmpfs: Callable[[str], Outcomes], case: str
) -> None:
    _expect(write_on_tmpfs("ro")[case], errno.EROFS)


@pytest.mark.parametrize("case", _CASES)
def test_a_full_disk_names_the_target_and_says_no_space(
    write_on_tmpfs: Callable[[str], Outcomes], case: str
) -> None:
    _expect(write_on_tmpfs("full")[case], errno.ENOSPC)
