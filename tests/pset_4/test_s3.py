"""The workflow end to end against moto's S3 server on 127.0.0.1, through real boto3 and luigi clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from pset_4.cli import main
from pset_4.settings import REMOTE_ENV, configured


def _objects(bucket: str) -> dict[str, object]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return {item["Key"]: item["LastModified"] for item in listing.get("Contents", [])}


def _files(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def s3_remote(
    s3_bucket: str, roots, make_photo, checkpoint, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The remote root on a fresh bucket, holding one photo and one checkpoint."""
    monkeypatch.setenv(REMOTE_ENV, f"s3://{s3_bucket}/pset_4")
    client = boto3.client("s3")
    photo = make_photo(roots.cache.parent / "upload" / "luigi.jpg")
    client.upload_file(str(photo), s3_bucket, "pset_4/images/luigi.jpg")
    client.upload_file(str(checkpoint), s3_bucket, "pset_4/saved_models/random.pth")
    with configured(remote_root=f"s3://{s3_bucket}/pset_4"):
        yield s3_bucket


@pytest.mark.slow
def test_fresh_cache_downloads_stylizes_and_publishes(s3_remote: str, roots, capsys) -> None:
    assert main(["-i", "luigi.jpg", "-m", "random.pth"]) == 0
    out = capsys.readouterr().out
    (output,) = [line.removeprefix("output: ") for line in out.splitlines() if line.startswith("output: ")]
    published = [key for key in _objects(s3_remote) if key.startswith("pset_4/stylized/")]
    assert published == [f"pset_4/stylized/{Path(output).name}"]
    body = boto3.client("s3").get_object(Bucket=s3_remote, Key=published[0])["Body"].read()
    assert body == Path(output).read_bytes()
    assert (roots.cache / "images" / "luigi.jpg").is_file()
    assert (roots.cache / "saved_models" / "random.pth").is_file()


@pytest.mark.slow
def test_rerun_transfers_and_computes_nothing(s3_remote: str, roots, capsys) -> None:
    argv = ["-i", "luigi.jpg", "-m", "random.pth"]
    assert main(argv) == 0
    objects, files = _objects(s3_remote), _files(roots.cache)
    capsys.readouterr()
    assert main(argv) == 0
    assert "1 of them already done" in capsys.readouterr().out
    assert _objects(s3_remote) == objects
    assert _files(roots.cache) == files


@pytest.mark.slow
def test_another_machine_finds_the_published_result_without_downloading(
    s3_remote: str, roots, tmp_path: Path, capsys
) -> None:
    argv = ["-i", "luigi.jpg", "-m", "random.pth", "--no-contact-sheet"]
    assert main(argv) == 0
    objects = _objects(s3_remote)
    capsys.readouterr()
    assert main([*argv, "--cache", str(tmp_path / "other-machine")]) == 0
    out = capsys.readouterr().out
    assert "1 of them already done" in out
    assert "remote only: s3://" in out
    assert _objects(s3_remote) == objects
    assert not (tmp_path / "other-machine").exists()


@pytest.mark.slow
def test_the_gallery_is_published_to_the_bucket_with_relative_links(s3_remote: str, roots) -> None:
    assert main(["-i", "luigi.jpg", "-m", "random.pth"]) == 0
    keys = set(_objects(s3_remote))
    page = boto3.client("s3").get_object(Bucket=s3_remote, Key="pset_4/gallery/index.html")["Body"].read()
    text = page.decode("utf-8")
    thumbs = re.findall(r'<img src="thumbs/([^"]+)"', text)
    assert len(thumbs) == 2  # the photo and its result
    assert {f"pset_4/gallery/thumbs/{name}" for name in thumbs} <= keys
    for link in re.findall(r'<a href="\.\./([^"]+)"', text):
        assert f"pset_4/{link}" in keys
    assert "s3://" not in text
