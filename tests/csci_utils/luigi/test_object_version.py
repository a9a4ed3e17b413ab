"""object_version and ContentVersion: a content digest where the store gives one, alike for alike bytes."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csci_utils.luigi.locations import target_for
from csci_utils.luigi.versions import ContentVersion, content_version, object_version


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


def test_a_file_replaced_by_one_of_the_same_size_and_time_is_read_again(tmp_path: Path) -> None:
    path, replacement = tmp_path / "a.bin", tmp_path / "b.bin"
    path.write_bytes(b"one")
    os.utime(path, ns=(5, 5))
    first = object_version(target_for(path))
    replacement.write_bytes(b"two")
    os.utime(replacement, ns=(5, 5))
    replacement.replace(path)  # an atomic publish: same name, size and mtime, another file
    assert object_version(target_for(path)) != first


def test_the_same_file_named_two_ways_has_one_version(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"one")
    (tmp_path / "link").symlink_to(tmp_path)
    assert object_version(target_for(tmp_path / "link" / "a.bin")) == object_version(target_for(path))


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


# ------------------------------------------------------------------------------------------ ContentVersion

_md5s = st.text("0123456789abcdef", min_size=32, max_size=32)
_etags = st.text(st.characters(codec="ascii", exclude_characters=":"), min_size=1, max_size=40)


def test_version_strings_keep_their_published_form() -> None:
    # Output names hash these strings: changing them would rename every published result.
    assert str(ContentVersion("md5", "0" * 32)) == "md5:" + "0" * 32
    assert str(ContentVersion("etag", "abc-2", 5)) == "etag:abc-2:5"


@given(
    st.one_of(
        _md5s.map(lambda v: ContentVersion("md5", v)),
        st.builds(ContentVersion, st.just("etag"), _etags, st.integers(0, 2**50)),
    )
)
def test_a_version_parses_back_from_its_string(version: ContentVersion) -> None:
    assert ContentVersion.parse(str(version)) == version


@pytest.mark.parametrize("text", ["missing", "md5:xyz", "etag:abc", "etag:abc:-1", "sha1:" + "0" * 40, ""])
def test_text_that_is_no_version_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="version"):
        ContentVersion.parse(text)


def test_a_multipart_etag_is_kept_with_the_size_and_an_md5_etag_is_the_md5() -> None:
    assert ContentVersion.of_etag("d41d8cd98f00b204e9800998ecf8427e", 0) == ContentVersion(
        "md5", "d41d8cd98f00b204e9800998ecf8427e"
    )
    assert ContentVersion.of_etag("abc-3", 17) == ContentVersion("etag", "abc-3", 17)


def test_content_version_is_the_typed_form_of_object_version(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"hello")
    version = content_version(target_for(path))
    assert version == ContentVersion("md5", "5d41402abc4b2a76b9719d911017c592")
    assert str(version) == object_version(target_for(path))
    assert version.matches_file(path)
