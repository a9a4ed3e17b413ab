"""An assumed role whose STS endpoint cannot be reached names STS's setting, not S3's (#18)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import luigi.configuration
import pytest
from luigi.configuration.cfg_parser import LuigiConfigParser

from csci_utils.luigi.locations import target_for


def test_an_unreachable_sts_endpoint_names_its_setting(
    s3_bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # bound, then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        sts = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts)
    config = tmp_path / "luigi.cfg"
    config.write_text("[s3]\naws_role_arn = arn:aws:iam::123456789012:role/x\naws_role_session_name = t1\n")
    parser = LuigiConfigParser()
    parser.read([os.fspath(config)])
    monkeypatch.setattr(luigi.configuration, "get_config", lambda: parser)
    with pytest.raises(ConnectionError) as caught:
        target_for(f"s3://{s3_bucket}/via-role.txt").exists()
    message = str(caught.value)
    assert message.startswith(f"cannot reach STS at {sts}")
    assert "AWS_ENDPOINT_URL_STS" in message
    assert "AWS_ENDPOINT_URL_S3" not in message
