"""The one .env rule: the real environment wins, else the nearest .env from the working folder upward."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from csci_utils.environment import dotenv_file, setting
from csci_utils.luigi.s3 import S3Settings


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a .env, and the working folder two levels below it."""
    (tmp_path / ".env").write_text("CSCI_TEST_SETTING=from-dotenv\nAWS_ENDPOINT_URL_S3=http://dotenv:9\n")
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    monkeypatch.delenv("CSCI_TEST_SETTING", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return tmp_path


def test_the_nearest_dotenv_above_the_working_folder_is_found(project: Path) -> None:
    assert dotenv_file() == project / ".env"
    assert setting("CSCI_TEST_SETTING") == "from-dotenv"


def test_the_real_environment_wins_over_the_dotenv(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSCI_TEST_SETTING", "from-environment")
    assert setting("CSCI_TEST_SETTING") == "from-environment"


def test_reading_the_dotenv_leaves_the_environment_alone(project: Path) -> None:
    setting("CSCI_TEST_SETTING")
    assert "CSCI_TEST_SETTING" not in os.environ


def test_s3_settings_follow_the_same_rule(project: Path) -> None:
    assert S3Settings.resolve(config={}).endpoint_url == "http://dotenv:9"
