"""object_version: a content digest wherever the store gives one, the same for the same bytes anywhere."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from csci_utils.luigi.storage import object_version, target_for


def test_a_missing_object_has_no_version(tmp_path: Path) -> None:
    assert object_version(target_for(tmp_path / "absent.jpg")) is None


def test_local_version_follows_the_content(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"one")
    first = object_version(target_for(path))
    path.write_bytes(b"two")
    os.utime(path, ns=(1, 1))
    assert object_version(target_for(path)) != first
    path.write_bytes(b"one")
    assert object_version(target_for(path)) == first


@pytest.mark.slow
def test_the_same_bytes_have_the_same_version_in_a_folder_and_in_s3(s3_bucket: str, tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(os.urandom(4096))
    boto3.client("s3").upload_file(str(path), s3_bucket, "images/photo.jpg")
    remote = target_for(f"s3://{s3_bucket}/images/photo.jpg", binary=True)
    assert object_version(remote) == object_version(target_for(path))
    assert object_version(target_for(f"s3://{s3_bucket}/images/absent.jpg")) is None


def test_a_target_of_another_kind_is_refused() -> None:
    import luigi.mock

    with pytest.raises(TypeError, match="local path or an s3:// URL"):
        object_version(luigi.mock.MockTarget("x"))
