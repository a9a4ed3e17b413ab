"""target_for, join, list_names and S3Settings, against real files and a real (moto) S3 server."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import luigi.configuration
import luigi.format
import pytest
from hypothesis import given
from hypothesis import strategies as st
from luigi.configuration.cfg_parser import LuigiConfigParser
from luigi.contrib.s3 import S3Target

from csci_utils.luigi.locations import join, list_names, target_for
from csci_utils.luigi.s3.errors import split_s3_url, translate_s3_errors
from csci_utils.luigi.s3.settings import S3Settings
from csci_utils.luigi.target import SuffixPreservingLocalTarget

SECRET = "s3cr3t-value-never-shown"
segment = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8)


# ---------------------------------------------------------------------------------------------- target_for


def test_a_path_gives_a_suffix_preserving_local_target(tmp_path: Path) -> None:
    target = target_for(tmp_path / "a.tar.gz")
    assert isinstance(target, SuffixPreservingLocalTarget)
    assert target.path == os.fspath(tmp_path / "a.tar.gz")


def test_a_file_url_gives_the_local_path(tmp_path: Path) -> None:
    target = target_for((tmp_path / "my file.jpg").as_uri())
    assert isinstance(target, SuffixPreservingLocalTarget)
    assert target.path == os.fspath(tmp_path / "my file.jpg")


def test_binary_means_the_nop_format(tmp_path: Path) -> None:
    assert target_for(tmp_path / "x.bin", binary=True).format is luigi.format.Nop
    assert target_for(tmp_path / "x.txt").format is not luigi.format.Nop


def test_an_s3_url_gives_luigis_s3_target(s3_bucket: str) -> None:
    target = target_for(f"s3://{s3_bucket}/models/udnie.pth", binary=True)
    assert isinstance(target, S3Target)
    assert target.format is luigi.format.Nop


def test_s3_target_round_trips_bytes_through_the_server(s3_bucket: str) -> None:
    target = target_for(f"s3://{s3_bucket}/blob.bin", binary=True)
    assert not target.exists()
    with target.open("w") as f:
        f.write(bytes(range(256)))
    assert target.exists()
    with target.open("r") as f:
        assert f.read() == bytes(range(256))
    assert s3_object_bytes(s3_bucket, "blob.bin") == bytes(range(256))


def test_luigis_own_unconfigured_s3_target_reaches_the_fixture_server(s3_bucket: str) -> None:
    target = S3Target(f"s3://{s3_bucket}/plain.bin", format=luigi.format.Nop)  # no client, no luigi.cfg
    with target.open("w") as f:
        f.write(b"\x00\xff")
    assert s3_object_bytes(s3_bucket, "plain.bin") == b"\x00\xff"


def s3_object_bytes(bucket: str, key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("ftp://host/x.jpg", "unsupported location"),
        ("s3:///key.jpg", "not an S3 URL with a bucket"),
        ("s3://bucket", "needs a key naming a file"),
        ("s3://bucket/folder/", "needs a key naming a file"),
        ("file://otherhost/x.jpg", "must name a local path"),
        ("", "needs a file name"),
    ],
)
def test_bad_locations_are_refused_with_a_reason(location: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        target_for(location)


def test_split_s3_url() -> None:
    assert split_s3_url("s3://b/a/b/c.jpg") == ("b", "a/b/c.jpg")


# ---------------------------------------------------------------------------------------------- join


def test_join_local_root(tmp_path: Path) -> None:
    assert join(tmp_path, "images", "luigi.jpg") == os.fspath(tmp_path / "images" / "luigi.jpg")


def test_join_url_root_with_or_without_slash() -> None:
    assert join("s3://bucket/root", "a/b.jpg") == "s3://bucket/root/a/b.jpg"
    assert join("s3://bucket/root/", "a", "b.jpg") == "s3://bucket/root/a/b.jpg"
    assert join("s3://bucket", "b.jpg") == "s3://bucket/b.jpg"


@pytest.mark.parametrize("part", ["..", "a/../b", "/etc/passwd", "s3://other/x", "", "a//b", "./a", "a\0b"])
def test_join_refuses_parts_that_could_leave_the_root(part: str) -> None:
    with pytest.raises(ValueError, match="cannot join"):
        join("s3://bucket/root", part)


@pytest.mark.parametrize("root", ["s3://bucket/root", "/data/root"])
def test_join_refuses_a_nul_in_a_name(root: str) -> None:
    with pytest.raises(ValueError, match="NUL"):
        join(root, "images", "photo\0.jpg")


@given(parts=st.lists(segment, min_size=1, max_size=4))
def test_joined_locations_stay_under_the_root(parts: list[str]) -> None:
    joined = join("s3://bucket/root", *parts)
    assert joined == "s3://bucket/root/" + "/".join(parts)
    assert join("/data/root", *parts).startswith("/data/root/")


# ---------------------------------------------------------------------------------------------- list_names


def test_list_names_local_lists_files_only_sorted(tmp_path: Path) -> None:
    for name in ("b.jpg", "a.jpg", ".a-123.jpg"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    assert list_names(tmp_path) == ["a.jpg", "b.jpg"]
    assert list_names(tmp_path.as_uri()) == ["a.jpg", "b.jpg"]


def test_list_names_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    assert list_names(tmp_path / "nothing") == []


def test_list_names_s3_lists_direct_children_only(s3_bucket: str) -> None:
    client = boto3.client("s3")
    for key in ("images/b.jpg", "images/a.jpg", "images/deep/c.jpg", "models/m.pth"):
        client.put_object(Bucket=s3_bucket, Key=key, Body=b"x")
    assert list_names(f"s3://{s3_bucket}/images") == ["a.jpg", "b.jpg"]
    assert list_names(f"s3://{s3_bucket}/images/") == ["a.jpg", "b.jpg"]
    assert list_names(f"s3://{s3_bucket}/empty") == []


def test_list_names_of_a_missing_bucket_names_the_bucket(s3_bucket: str) -> None:
    with pytest.raises(FileNotFoundError, match="bucket 'no-such-bucket' does not exist"):
        list_names("s3://no-such-bucket/images")


# ---------------------------------------------------------------------------------------------- S3Settings


def test_settings_precedence_luigi_config_then_environment_then_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "AWS_ENDPOINT_URL_S3=http://dotenv:1\nAWS_DEFAULT_REGION=eu-west-1\nAWS_ACCESS_KEY_ID=dot\n"
    )
    environ = {"AWS_ENDPOINT_URL_S3": "http://env:2", "AWS_ACCESS_KEY_ID": "env"}
    settings = S3Settings.resolve(
        config={"endpoint_url": "http://cfg:3"}, environ=environ, dotenv_path=dotenv
    )
    assert settings.endpoint_url == "http://cfg:3"
    assert settings.aws_access_key_id == "env"
    assert settings.region_name == "eu-west-1"


def test_dotenv_is_read_without_changing_the_environment(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("CSCI_TEST_ONLY_VAR=1\nAWS_SECRET_ACCESS_KEY=from-dotenv\n")
    settings = S3Settings.resolve(config={}, environ={}, dotenv_path=dotenv)
    assert settings.aws_secret_access_key == "from-dotenv"
    assert "CSCI_TEST_ONLY_VAR" not in os.environ


def test_settings_repr_never_shows_credentials() -> None:
    settings = S3Settings(
        endpoint_url="http://x", aws_access_key_id="AKIDSHOWN", aws_secret_access_key=SECRET
    )
    assert SECRET not in repr(settings)
    assert "AKIDSHOWN" not in repr(settings)
    assert "http://x" in repr(settings)


def test_settings_come_from_luigi_config_s3_section(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text("[s3]\nendpoint_url = http://from-luigi-cfg:9000\nregion_name = ap-south-1\n")
    parser = LuigiConfigParser()
    parser.read([os.fspath(cfg)])
    monkeypatch.setattr(luigi.configuration, "get_config", lambda: parser)
    settings = S3Settings.resolve(environ={"AWS_ENDPOINT_URL_S3": "http://env:1"}, dotenv_path=None)
    assert (settings.endpoint_url, settings.region_name) == ("http://from-luigi-cfg:9000", "ap-south-1")


# ---------------------------------------------------------------------------------------------- errors


def test_translated_errors_name_the_configured_endpoint(s3_bucket: str, s3_endpoint: str) -> None:
    client = boto3.client("s3")
    with (
        pytest.raises(FileNotFoundError, match=f"does not exist at {s3_endpoint}"),
        translate_s3_errors("s3://nope/k"),
    ):
        client.list_objects_v2(Bucket="nope")


def test_builtin_errors_pass_through_untranslated() -> None:
    with pytest.raises(ValueError, match="ours"), translate_s3_errors("s3://b/k"):
        raise ValueError("ours")
