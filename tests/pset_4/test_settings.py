from __future__ import annotations

import pytest

from pset_4.settings import CACHE_ENV, DEFAULT_CACHE, DEFAULT_REMOTE, REMOTE_ENV, resolve_settings


def test_defaults_are_local_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUIGI_CONFIG_PATH", "/nonexistent/luigi.cfg")
    settings = resolve_settings(environ={})
    assert settings.remote_root in {DEFAULT_REMOTE, "data/remote"}
    assert settings.cache_root in {DEFAULT_CACHE, "data"}


def test_environment_overrides_the_config() -> None:
    settings = resolve_settings(environ={REMOTE_ENV: "s3://bucket/pset_4/", CACHE_ENV: "/tmp/cache"})
    assert settings.remote_root == "s3://bucket/pset_4"
    assert settings.cache_root == "/tmp/cache"


def test_explicit_arguments_override_the_environment() -> None:
    settings = resolve_settings(remote_root="elsewhere", cache_root="c", environ={REMOTE_ENV: "s3://b/p"})
    assert settings == type(settings)(remote_root="elsewhere", cache_root="c")
