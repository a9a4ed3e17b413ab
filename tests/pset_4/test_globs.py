"""``-i`` as a quoted glob, ``--all-images``, and local files and folders that are uploaded first."""

from __future__ import annotations

import fnmatch
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csci_utils.exit_codes import ExitCode
from pset_4.cli import main
from pset_4.inputs import is_glob, resolve_names
from pset_4.settings import WorkflowSettings


@pytest.fixture
def remote(roots, make_photo, checkpoint):
    """Three photos and a checkpoint on the remote."""
    make_photo(roots.remote_images / "a.jpg", seed=1)
    make_photo(roots.remote_images / "b.jpg", seed=2)
    make_photo(roots.remote_images / "c.png", seed=3)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(checkpoint, roots.remote_models / "random.pth")
    return roots


def _published_images(out: str) -> list[str]:
    lines = [line.removeprefix("published: ") for line in out.splitlines() if line.startswith("published: ")]
    return [Path(line).name.split("--")[0] for line in lines]


def test_a_quoted_glob_matches_the_remote_images(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "*.jpg", "-m", "random.pth", "--no-contact-sheet"]) == ExitCode.OK
    assert _published_images(capsys.readouterr().out) == ["a", "b"]


def test_all_images_stylizes_every_remote_image(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--all-images", "-m", "random.pth", "--no-contact-sheet"]) == ExitCode.OK
    assert _published_images(capsys.readouterr().out) == ["a", "b", "c"]


def test_a_glob_that_matches_nothing_lists_the_remote(remote, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-i", "*.tif", "-m", "random.pth"]) == ExitCode.MISSING_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "matches '*.tif'" in err
    assert "a.jpg, b.jpg, c.png" in err
    assert not (remote.remote / "stylized").exists()


def test_a_local_folder_is_uploaded_and_stylized(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photo(Path("trip/x.jpg"), seed=4)
    make_photo(Path("trip/y.png"), seed=5)
    Path("trip/notes.txt").write_text("not a photo, not looked at")
    assert main(["-i", "trip", "-m", "random.pth", "--no-contact-sheet"]) == ExitCode.OK
    captured = capsys.readouterr()
    assert (remote.remote_images / "x.jpg").read_bytes() == Path("trip/x.jpg").read_bytes()
    assert (remote.remote_images / "y.png").is_file()
    assert not (remote.remote_images / "notes.txt").exists()
    assert "uploading trip/x.jpg -> " in captured.err
    assert len([line for line in captured.out.splitlines() if line.startswith("uploaded: ")]) == 2
    assert _published_images(captured.out) == ["x", "y"]


def test_a_local_file_is_uploaded_under_its_name(remote, make_photo, capsys) -> None:
    make_photo(Path("elsewhere/new.jpg"), seed=6)
    assert main(["-i", "elsewhere/new.jpg", "-m", "random.pth", "--no-contact-sheet"]) == ExitCode.OK
    assert (remote.remote_images / "new.jpg").is_file()
    assert _published_images(capsys.readouterr().out) == ["new"]


def test_a_local_file_that_is_not_an_image_is_skipped_and_the_rest_done(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photo(Path("trip/x.jpg"), seed=4)
    Path("trip/bad.jpg").write_bytes(b"\xff\xd8\xff not really")
    assert main(["-i", "trip", "-m", "random.pth", "--no-contact-sheet"]) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert "SKIPPED: trip/bad.jpg" in captured.err
    assert not (remote.remote_images / "bad.jpg").exists()
    assert _published_images(captured.out) == ["x"]


def test_a_local_file_differing_from_the_remote_one_of_its_name_is_refused(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (remote.remote_images / "a.jpg").read_bytes()
    make_photo(Path("mine/a.jpg"), seed=42)
    assert main(["-i", "mine/a.jpg", "-m", "random.pth"]) == ExitCode.USAGE
    assert "already holds a different image named 'a.jpg'" in capsys.readouterr().err
    assert (remote.remote_images / "a.jpg").read_bytes() == before
    assert not (remote.remote / "stylized").exists()


def test_photos_found_in_the_cache_are_said_when_uploaded(
    remote, make_photo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photo(remote.cache / "images" / "cached.jpg", seed=9)
    assert main(["-i", "cached.jpg", "-m", "random.pth", "--no-contact-sheet"]) == ExitCode.OK
    captured = capsys.readouterr()
    assert "uploading " in captured.err
    assert "cached.jpg" in captured.err
    (line,) = [line for line in captured.out.splitlines() if line.startswith("uploaded: ")]
    assert line.endswith(str(remote.remote_images / "cached.jpg"))


_NAMES = st.lists(
    st.from_regex(r"[a-c]{1,3}\.(jpg|png)", fullmatch=True), min_size=1, max_size=6, unique=True
)


@settings(max_examples=30, deadline=None)
@given(names=_NAMES, pattern=st.sampled_from(["*.jpg", "a*", "?.png", "[ab]*.jpg", "*"]))
def test_a_glob_resolves_to_the_remote_names_it_matches(names: list[str], pattern: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "images").mkdir()
        for name in names:
            (root / "images" / name).write_bytes(b"x")
        config = WorkflowSettings(remote_root=str(root), cache_root=str(root / "cache"))
        matched = sorted(fnmatch.filter(names, pattern))
        if not matched:
            with pytest.raises(FileNotFoundError, match="matches"):
                resolve_names([pattern], "images", config, what="image")
            return
        assert resolve_names([pattern], "images", config, what="image").names == matched


@pytest.mark.parametrize(("value", "expected"), [("*.jpg", True), ("a?.png", True), ("[ab].jpg", True)])
def test_patterns_are_told_from_names(value: str, expected: bool) -> None:
    assert is_glob(value) is expected
    assert is_glob(value.replace("*", "x").replace("?", "y").replace("[", "").replace("]", "")) is False


@pytest.mark.slow
def test_a_glob_and_a_style_picture_work_on_s3(
    s3_bucket: str, roots, make_photo, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import boto3

    from pset_4.settings import REMOTE_ENV, configured

    url = f"s3://{s3_bucket}/pset_4"
    monkeypatch.setenv(REMOTE_ENV, url)
    client = boto3.client("s3")
    for name, seed in (("one.jpg", 1), ("two.jpg", 2), ("other.png", 3)):
        photo = make_photo(roots.cache.parent / "upload" / name, seed=seed)
        client.upload_file(str(photo), s3_bucket, f"pset_4/images/{name}")
    make_photo(Path("starry.png"), size=(64, 64), seed=8)
    with configured(remote_root=url):
        code = main(["-i", "*.jpg", "--style-image", "starry.png", "--strength", "0.6"])
    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.err
    keys = {item["Key"] for item in client.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert "pset_4/style_images/starry.png" in keys
    stylized = sorted(k.removeprefix("pset_4/stylized/") for k in keys if k.startswith("pset_4/stylized/"))
    assert [name.split("--")[:3] for name in stylized] == [
        ["one", "by-starry", "k0.6"],
        ["two", "by-starry", "k0.6"],
    ]
    assert any(k.startswith("pset_4/contact_sheets/") for k in keys)
