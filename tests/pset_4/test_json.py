"""``pset-4 --json``: exactly one JSON document on stdout, every pair with its status; the same exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _pset4(*argv: str) -> tuple[int, dict, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pset_4", *argv, "--json"], capture_output=True, text=True, check=False
    )
    return done.returncode, json.loads(done.stdout), done.stderr


@pytest.fixture
def remote(roots, make_photo, multistyle):
    make_photo(roots.remote_images / "a.jpg")
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    return roots


def test_every_pair_is_listed_with_its_status_places_and_version(remote) -> None:
    code, first, stderr = _pset4("-i", "a.jpg", "-m", "multi.onnx", "--style", "2")
    assert code == 0
    assert first["ok"] is True
    assert "1 to do" in stderr  # messages stay on stderr
    (result,) = first["results"]
    assert result["image"] == "a.jpg"
    assert result["model"] == "multi.onnx"
    assert result["style"] == "2"
    assert result["strength"] == 1.0
    assert result["preserve_color"] is False
    assert result["status"] == "done"
    assert result["seconds"] > 0
    assert result["reason"] is None
    assert result["local"].endswith(f"--{result['version']}.jpg")
    assert (remote.remote / "stylized" / result["remote"].rpartition("/")[2]).is_file()
    assert first["contact_sheet"].endswith(".png")

    code, again, _ = _pset4("-i", "a.jpg", "-m", "multi.onnx", "--style", "2", "--style", "3")
    assert code == 0
    assert [r["status"] for r in again["results"]] == ["already done", "done"]
    assert again["results"][0]["seconds"] is None


def test_an_unusable_photo_is_skipped_with_its_reason_and_exit_4(remote) -> None:
    (remote.remote_images / "bad.jpg").write_bytes(b"not a photo")
    code, document, _ = _pset4("-i", "a.jpg", "-i", "bad.jpg", "-m", "multi.onnx", "--style", "2")
    assert code == 4
    assert document["exit_code"] == 4
    statuses = {r["image"]: (r["status"], r["reason"]) for r in document["results"]}
    assert statuses["a.jpg"] == ("done", None)
    assert statuses["bad.jpg"][0] == "skipped"
    assert "bad.jpg" in statuses["bad.jpg"][1]


def test_an_unknown_photo_is_exit_3_said_in_the_document_too(remote) -> None:
    code, document, stderr = _pset4("-i", "missing.jpg")
    assert code == 3
    assert document == {"ok": False, "exit_code": 3, "error": document["error"]}
    assert "missing.jpg" in document["error"]
    assert len(stderr.strip().splitlines()) == 1


def test_the_installed_command_ends_at_once_with_its_whole_document_and_exit_code(remote) -> None:
    # Without coverage measuring (pytest-cov starts it in subprocesses), the command skips the interpreter's
    # teardown (csci_utils.process.quick_exit): stdout must still be complete, and the status the run's.
    env = {key: value for key, value in os.environ.items() if not key.startswith("COV_CORE")}
    command = Path(sys.executable).with_name("pset-4")
    (remote.remote_images / "bad.jpg").write_bytes(b"not a photo")
    argv = [str(command), "-i", "a.jpg", "-i", "bad.jpg", "-m", "multi.onnx", "--style", "2", "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 4, done.stderr
    document = json.loads(done.stdout)
    assert document["exit_code"] == 4
    assert {r["image"]: r["status"] for r in document["results"]} == {"a.jpg": "done", "bad.jpg": "skipped"}
    assert (remote.remote / "stylized" / document["results"][0]["remote"].rpartition("/")[2]).is_file()
