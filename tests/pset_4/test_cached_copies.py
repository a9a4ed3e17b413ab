from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csci_utils.luigi.locations import target_for
from csci_utils.luigi.versions import ContentVersion, object_version
from pset_4.naming import check_name, stylized_name
from pset_4.tasks.data import check_cached_copy


def test_a_cached_copy_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cached.jpg"
    path.write_bytes(b"old")
    version = object_version(target_for(path))
    check_cached_copy(path, version, "remote/cached.jpg")
    with pytest.raises(ValueError, match="delete the cached copy"):
        check_cached_copy(path, "md5:" + "0" * 32, "remote/cached.jpg")


def test_without_a_digest_only_the_size_is_compared(tmp_path: Path) -> None:
    path = tmp_path / "big.onnx"
    path.write_bytes(b"12345")
    check_cached_copy(path, "etag:abc-2:5", "s3://b/big.onnx")
    with pytest.raises(ValueError, match="differs"):
        check_cached_copy(path, "etag:abc-2:6", "s3://b/big.onnx")


# Names check_name accepts: an input name longer than a file name may be is refused before any work.
_names = st.text(st.characters(blacklist_characters="/\\\0", blacklist_categories=["Cs"]), min_size=1).filter(
    lambda n: n.strip() and ".." not in n and not n.startswith(".") and len(n.encode()) <= 255
)


@settings(deadline=None)  # shared CI cores: timing is not the point
@given(_names, _names, st.one_of(st.none(), st.integers(0, 25).map(str)))
def test_versioned_names_are_always_plain_file_names(image: str, model: str, style: str | None) -> None:
    name = stylized_name(image, model, style, versions={"engine": "1", "image": "x", "model": "y"})
    assert check_name(name) == name
    assert len(name.encode()) <= 255


def test_a_typed_version_is_checked_like_its_string(tmp_path: Path) -> None:
    path = tmp_path / "cached.jpg"
    path.write_bytes(b"12345")
    check_cached_copy(path, ContentVersion("etag", "abc-2", 5), "s3://b/cached.jpg")
    with pytest.raises(ValueError, match="differs"):
        check_cached_copy(path, ContentVersion("md5", "0" * 32), "s3://b/cached.jpg")


def test_a_remote_that_was_missing_never_matches_the_cache(tmp_path: Path) -> None:
    path = tmp_path / "cached.jpg"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="differs"):
        check_cached_copy(path, "missing", "s3://b/cached.jpg")
