"""Local inputs are decoded or loaded in full before anything is uploaded; local videos go up like photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from csci_utils.exit_codes import ExitCode
from neural_style.video import probe
from neural_style.video.synthetic import ClipSpec, make_clip
from pset_4.cli import main
from pset_4.settings import configured

CLIP = ClipSpec(seconds=1.0, keyframe_interval=10)  # 30 frames, with a tone


@pytest.fixture
def remote(roots, make_photo, multistyle, checkpoint):
    """A photo, the 26-style model and a checkpoint on the remote."""
    make_photo(roots.remote_images / "a.jpg", seed=1)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    shutil.copyfile(checkpoint, roots.remote_models / "random.pth")
    with configured(segment_seconds=1.0):
        yield roots


def _lines(text: str, prefix: str) -> list[str]:
    return [line.removeprefix(prefix) for line in text.splitlines() if line.startswith(prefix)]


def _cut_in_half(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _remote_listing(roots) -> list[str]:
    return sorted(str(p.relative_to(roots.remote)) for p in roots.remote.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", ["trunc.jpg", "trunc.png"])
def test_a_truncated_local_photo_is_bad_input_and_the_remote_is_untouched(
    remote, make_photo, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    _cut_in_half(make_photo(Path(name), 200, 160, seed=3))
    before = _remote_listing(remote)
    assert main(["-i", f"./{name}", "-m", "random.pth"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{name} is a corrupt or truncated image" in err
    assert _remote_listing(remote) == before


def test_a_truncated_photo_in_a_folder_is_skipped_and_the_rest_done(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photo(Path("trip/x.jpg"), seed=4)
    _cut_in_half(make_photo(Path("trip/y.jpg"), 200, 160, seed=5))
    assert main(["-i", "trip", "-m", "random.pth", "--no-contact-sheet"]) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert _lines(captured.err, "SKIPPED: ") == ["trip/y.jpg"]
    assert not (remote.remote_images / "y.jpg").exists()
    assert [Path(p).name.split("--")[0] for p in _lines(captured.out, "published: ")] == ["x"]


def test_a_truncated_local_style_picture_is_bad_input_and_not_uploaded(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    _cut_in_half(make_photo(Path("paint.png"), 200, 160, seed=6))
    before = _remote_listing(remote)
    assert main(["-i", "a.jpg", "--style-image", "paint.png"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "paint.png is a corrupt or truncated image" in err
    assert _remote_listing(remote) == before


def test_a_truncated_photo_only_the_cache_has_is_not_uploaded(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    _cut_in_half(make_photo(remote.cache / "images" / "cached.jpg", 200, 160, seed=7))
    before = _remote_listing(remote)
    assert main(["-i", "cached.jpg", "-m", "random.pth"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cached.jpg is a corrupt or truncated image" in err
    assert _remote_listing(remote) == before


def _half_of(source: Path, path: Path) -> None:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _not_a_transformer(path: Path) -> None:
    import torch

    torch.save({"weight": torch.zeros(3)}, path)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("half.pth", "is not a PyTorch checkpoint"),
        ("other.pth", "is not a TransformerNet checkpoint"),
        ("half.onnx", "is not an ONNX model"),
    ],
)
def test_a_broken_model_only_the_cache_has_is_bad_input_and_not_uploaded(
    remote, checkpoint, multistyle, capsys: pytest.CaptureFixture[str], name: str, reason: str
) -> None:
    (remote.cache / "saved_models").mkdir(parents=True)
    broken = remote.cache / "saved_models" / name
    if name == "other.pth":
        _not_a_transformer(broken)
    else:
        _half_of(checkpoint if name.endswith(".pth") else multistyle, broken)
    before = _remote_listing(remote)
    assert main(["-i", "a.jpg", "-m", name]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{name} {reason}" in err
    assert _remote_listing(remote) == before


def test_a_broken_model_is_skipped_and_the_other_models_used(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    (remote.cache / "saved_models").mkdir(parents=True)
    (remote.cache / "saved_models" / "garbage.pth").write_bytes(b"not a checkpoint")
    argv = ["-i", "a.jpg", "-m", "garbage.pth", "-m", "random.pth", "--no-contact-sheet"]
    assert main(argv) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert _lines(captured.err, "SKIPPED: ") == [str(remote.cache / "saved_models" / "garbage.pth")]
    assert [Path(p).name.split("--")[1] for p in _lines(captured.out, "published: ")] == ["random"]
    assert not (remote.remote_models / "garbage.pth").exists()


@pytest.mark.parametrize("model", ["mine.pth", "mine.onnx"])
def test_a_sound_model_only_the_cache_has_is_uploaded_and_used(
    remote, checkpoint, multistyle, capsys: pytest.CaptureFixture[str], model: str
) -> None:
    (remote.cache / "saved_models").mkdir(parents=True)
    shutil.copyfile(
        checkpoint if model.endswith(".pth") else multistyle, remote.cache / "saved_models" / model
    )
    assert main(["-i", "a.jpg", "-m", model, "--no-contact-sheet"]) == ExitCode.OK
    assert (remote.remote_models / model).is_file()
    assert len(_lines(capsys.readouterr().out, "published: ")) == 1


def test_a_local_clip_is_uploaded_and_stylized_with_its_audio(
    remote, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("clips").mkdir()
    make_clip(Path("clips/clip.mp4"), CLIP)
    code = main(["-i", "clips/clip.mp4", "-m", "multi.onnx", "--style", "3", "--no-contact-sheet"])
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    assert (remote.remote_images / "clip.mp4").read_bytes() == Path("clips/clip.mp4").read_bytes()
    (published,) = _lines(out, "published: ")
    assert Path(published).name.startswith("clip--")
    result = probe(published)
    assert result.frame_count == CLIP.frame_count
    assert result.audio_streams == 1


def test_a_folder_with_a_photo_and_a_clip_stylizes_both(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photo(Path("trip/x.jpg"), seed=4)  # makes the folder
    make_clip(Path("trip/clip.mp4"), CLIP)
    assert main(["-i", "trip", "-m", "multi.onnx", "--style", "3"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert sorted(p.name for p in remote.remote_images.iterdir()) == ["a.jpg", "clip.mp4", "x.jpg"]
    published = sorted(Path(p).name for p in _lines(out, "published: "))
    assert [name.split("--")[0] for name in published] == ["clip", "x"]
    assert published[0].endswith(".mp4")
    assert len(_lines(out, "contact sheet: ")) == 1


def _zero_a_stretch(path: Path) -> bytes:
    """Return the clip at ``path`` with 2 kB zeroed a third of the way in: it demuxes, but does not decode."""
    data = bytearray(path.read_bytes())
    start = len(data) // 3
    data[start : start + 2000] = bytes(2000)
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "damage", "reason"),
    [
        ("notavideo.mp4", lambda clip: b"just some text\n", "not a video file, or truncated"),
        (
            "cut.mp4",
            lambda clip: clip.read_bytes()[: clip.stat().st_size // 3],
            "not a video file, or truncated",
        ),
        ("damaged.mp4", _zero_a_stretch, "damaged or truncated video at frame"),
    ],
)
def test_a_bad_local_clip_is_bad_input_and_nothing_is_uploaded(
    remote, capsys: pytest.CaptureFixture[str], name: str, damage, reason: str
) -> None:
    Path(name).write_bytes(damage(make_clip(Path("clip.mp4"), CLIP)))
    before = _remote_listing(remote)
    assert main(["-i", name, "-m", "multi.onnx"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{name}: {reason}" in err
    assert _remote_listing(remote) == before


def test_a_clip_is_no_style_picture(remote, capsys: pytest.CaptureFixture[str]) -> None:
    make_clip(Path("clip.mp4"), CLIP)
    assert main(["-i", "a.jpg", "--style-image", "clip.mp4"]) == ExitCode.BAD_INPUT
    assert "clip.mp4 is not an image file Pillow can read" in capsys.readouterr().err
    assert not (remote.remote / "style_images").exists()
