"""The S3 layer against real servers: luigi.cfg [s3] options, bounded time on a dead endpoint, and the
clean-up of multipart uploads left open (function and command)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import luigi.configuration
import pytest
from luigi.configuration.cfg_parser import LuigiConfigParser

from csci_utils.exit_codes import ExitCode
from csci_utils.luigi.locations import target_for
from csci_utils.luigi.s3 import OpenUpload, S3Settings, abort_stale_uploads, s3_client
from csci_utils.luigi.s3.cli import parse_duration
from csci_utils.luigi.s3.uploads import select_stale


def use_luigi_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_section: str) -> Path:
    """Make luigi's configuration a luigi.cfg with this ``[s3]`` section; return the file."""
    cfg = tmp_path / "luigi.cfg"
    cfg.write_text(f"[s3]\n{s3_section}\n")
    parser = LuigiConfigParser()
    parser.read([os.fspath(cfg)])
    monkeypatch.setattr(luigi.configuration, "get_config", lambda: parser)
    return cfg


def open_upload_keys(bucket: str) -> list[str]:
    """Return the keys of the bucket's open multipart uploads, straight from the server."""
    return [u["Key"] for u in boto3.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


# ------------------------------------------------------------------------------------------- [s3] options


def test_an_assumed_role_is_used_as_luigis_client_would(
    s3_bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", s3_endpoint)  # moto's server answers STS too
    role = "arn:aws:iam::123456789012:role/pset-writer"
    use_luigi_config(monkeypatch, tmp_path, f"aws_role_arn = {role}\naws_role_session_name = pset4")
    target = target_for(f"s3://{s3_bucket}/via-role.txt")
    with target.open("w") as f:
        f.write("hello")
    credentials = target.fs.s3.meta.client._request_signer._credentials
    assert credentials.access_key != "testing"  # the assumed role's, not the base keys
    assert credentials.token
    assert target.exists()


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ("aws_role_arn = arn:aws:iam::1:role/x", "aws_role_session_name"),
        ("host = s3.example.com", "'host'"),
        ("connect_timeout = soon", "connect_timeout"),
        ("use_ssl = maybe", "use_ssl"),
    ],
)
def test_an_unsupported_or_malformed_s3_option_is_refused_by_name(
    section: str, named: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_luigi_config(monkeypatch, tmp_path, section)
    with pytest.raises(ValueError, match=named) as err:
        S3Settings.resolve(environ={}, dotenv_path=None)
    assert "\n" not in str(err.value)


def test_extra_client_options_reach_boto3(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_luigi_config(monkeypatch, tmp_path, "endpoint_url = https://s3.example.test\nverify = false")
    settings = S3Settings.resolve(environ={}, dotenv_path=None)
    client = s3_client(settings).s3.meta.client
    assert client.meta.endpoint_url == "https://s3.example.test"
    assert client._endpoint.http_session._verify is False


# ------------------------------------------------------------------------------------------- dead endpoint


class DeadEndpoint:
    """A server that accepts connections and never answers (a hung proxy or load balancer)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()
        for sock in self.held:
            sock.close()


@pytest.fixture
def dead_endpoint() -> Iterator[DeadEndpoint]:
    """A :class:`DeadEndpoint`, closed after the test."""
    endpoint = DeadEndpoint()
    yield endpoint
    endpoint.close()


def test_attempts_are_capped_so_a_call_ends_within_its_budget() -> None:
    settings = S3Settings(connect_timeout=1, read_timeout=1, call_timeout=7, max_attempts=5)
    assert settings.attempts_within_budget() == 2  # 2 s, pause up to 2 s, 2 s; a third would end past 7 s
    assert S3Settings(read_timeout=1, call_timeout=1).attempts_within_budget() == 1


def test_the_default_read_timeout_grows_with_the_part_size() -> None:
    settings = S3Settings()
    assert settings.read_timeout_for(64 * 1024 * 1024) > settings.read_timeout_for(8 * 1024 * 1024) >= 10


@pytest.mark.slow
def test_a_dead_endpoint_fails_in_bounded_time(
    s3_bucket: str, dead_endpoint: DeadEndpoint, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    budget = 7
    use_luigi_config(
        monkeypatch,
        tmp_path,
        f"endpoint_url = {dead_endpoint.url}\nconnect_timeout = 1\nread_timeout = 1\n"
        f"call_timeout = {budget}\nmax_attempts = 5",
    )
    with pytest.raises(ConnectionError, match="did not answer in time"):
        target_for(f"s3://{s3_bucket}/anything.bin").exists()
    # Bounded by counting, not timing (the suite must pass on a busy machine): of the 5 attempts allowed,
    # only those that end within the budget were made, each a connection that waited out its timeout.
    within_budget = S3Settings(connect_timeout=1, read_timeout=1, call_timeout=budget, max_attempts=5)
    assert 1 <= len(dead_endpoint.held) <= within_budget.attempts_within_budget() < 5


# --------------------------------------------------------------------------------------- stale uploads


def test_stale_uploads_under_the_prefix_are_aborted(s3_bucket: str) -> None:
    client = boto3.client("s3")
    for key in ("stylized/a.jpg", "stylized/b.jpg", "other/c.jpg"):
        client.create_multipart_upload(Bucket=s3_bucket, Key=key)
    aborted = abort_stale_uploads(f"s3://{s3_bucket}/stylized/", older_than=timedelta(0))
    assert sorted(u.key for u in aborted) == ["stylized/a.jpg", "stylized/b.jpg"]
    assert open_upload_keys(s3_bucket) == ["other/c.jpg"]


def test_uploads_younger_than_the_bound_are_kept() -> None:
    # moto lists every upload as started in 2010, so the age rule is checked on values of our own.
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    uploads = [
        OpenUpload("b", "running.bin", "1", now - timedelta(minutes=5)),
        OpenUpload("b", "killed.bin", "2", now - timedelta(hours=3)),
    ]
    stale = select_stale(uploads, older_than=timedelta(hours=1), now=now)
    assert [u.key for u in stale] == ["killed.bin"]


def test_a_dry_run_aborts_nothing(s3_bucket: str) -> None:
    boto3.client("s3").create_multipart_upload(Bucket=s3_bucket, Key="left.bin")
    listed = abort_stale_uploads(f"s3://{s3_bucket}", older_than=timedelta(0), dry_run=True)
    assert [u.url for u in listed] == [f"s3://{s3_bucket}/left.bin"]
    assert open_upload_keys(s3_bucket) == ["left.bin"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("2d", 172800), ("0", 0)]
)
def test_durations_read_as_people_write_them(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def clean_uploads(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the clean-up command as a user would."""
    command = [sys.executable, "-m", "csci_utils.luigi.s3", "clean-uploads", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_the_clean_uploads_command_aborts_and_reports(s3_bucket: str) -> None:
    boto3.client("s3").create_multipart_upload(Bucket=s3_bucket, Key="left.bin")
    done = clean_uploads(f"s3://{s3_bucket}", "--older-than", "0")
    assert done.returncode == ExitCode.OK, done.stderr
    assert f"aborted s3://{s3_bucket}/left.bin" in done.stdout
    assert open_upload_keys(s3_bucket) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["s3://no-such-bucket-here"], ExitCode.MISSING_INPUT, "does not exist"),
        (["s3://b", "--older-than", "soon"], ExitCode.USAGE, "not a duration"),
        (["/local/folder"], ExitCode.USAGE, "not an S3 URL"),
    ],
)
def test_the_clean_uploads_command_maps_errors_to_exit_codes(
    s3_bucket: str, args: list[str], code: int, said: str
) -> None:
    done = clean_uploads(*args)
    assert done.returncode == code
    assert said in done.stderr
    assert "Traceback" not in done.stderr
