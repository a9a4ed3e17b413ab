"""Errors a user's value causes are said in one line, naming the value, before any work (#18)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from csci_utils.exit_codes import ExitCode
from pset_4.cli import main

LONG = "a" * 300


@pytest.fixture
def remote(roots, make_photo, checkpoint: Path):
    """A remote with one photo and a TransformerNet checkpoint."""
    make_photo(roots.remote_images / "a.jpg")
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(checkpoint, roots.remote_models / "random.pth")
    return roots


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["-i", f"{LONG}.jpg"], "image"),
        (["-i", f"elsewhere/{LONG}.jpg"], "image"),
        (["-m", f"{LONG}.onnx"], "model"),
        (["--style-image", f"{LONG}.jpg"], "style image"),
        (["--remote", f"elsewhere/{LONG}"], "remote folder"),
        (["--cache", f"elsewhere/{LONG}"], "cache folder"),
    ],
)
def test_a_name_longer_than_a_file_name_is_a_bad_value(
    remote, capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    before = sorted(remote.remote.rglob("*"))
    assert main(["-m", "random.pth", "-i", "a.jpg", *argv]) == ExitCode.USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"pset_4: error: {named} 'aaaa")
    assert "is 30" in line
    assert "at most 255" in line
    assert "Errno" not in line
    assert sorted(remote.remote.rglob("*")) == before
    assert not remote.cache.exists()


@pytest.fixture
def cached(roots, make_photo, checkpoint: Path):
    """A photo and a checkpoint only this machine's cache has (a run would upload them to the remote)."""
    make_photo(roots.cache / "images" / "a.jpg")
    (roots.cache / "saved_models").mkdir(parents=True)
    shutil.copyfile(checkpoint, roots.cache / "saved_models" / "random.pth")
    return roots


@pytest.mark.parametrize("as_url", [False, True])
def test_a_remote_folder_that_does_not_exist_is_refused(
    cached, tmp_path: Path, capsys: pytest.CaptureFixture[str], as_url: bool
) -> None:
    typo = tmp_path / "remtoe"
    value = typo.as_uri() if as_url else str(typo)
    assert main(["--remote", value, "-i", "a.jpg", "-m", "random.pth"]) == ExitCode.MISSING_INPUT
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"pset_4: error: the remote folder {typo} does not exist")
    assert "--demo" in line
    assert f"mkdir -p {typo}" in line
    assert not typo.exists()


def test_the_configured_remote_folder_must_exist_too(cached, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "a.jpg", "-m", "random.pth"]) == ExitCode.MISSING_INPUT
    assert f"the remote folder {cached.remote} does not exist" in capsys.readouterr().err
    assert not cached.remote.exists()


def test_an_empty_remote_folder_made_with_mkdir_is_filled_from_the_cache(
    cached, capsys: pytest.CaptureFixture[str]
) -> None:
    cached.remote.mkdir()
    assert main(["-i", "a.jpg", "-m", "random.pth", "--no-contact-sheet"]) == ExitCode.OK
    assert (cached.remote_images / "a.jpg").is_file()
    assert (cached.remote_models / "random.pth").is_file()
