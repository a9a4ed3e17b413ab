from __future__ import annotations

import pytest

from pset_4.settings import (
    CACHE_ENV,
    DEFAULT_CACHE,
    DEFAULT_REMOTE,
    REMOTE_ENV,
    THREADS_ENV,
    resolve_settings,
    threads_per_worker,
)


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


def test_engine_threads_default_to_unset() -> None:
    assert resolve_settings(environ={}).engine_threads is None


def test_engine_threads_come_from_the_environment() -> None:
    assert resolve_settings(environ={THREADS_ENV: "3"}).engine_threads == 3


@pytest.mark.parametrize("text", ["0", "-1", "two"])
def test_bad_engine_threads_are_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(ValueError, match=THREADS_ENV):
        resolve_settings(environ={THREADS_ENV: text})


@pytest.mark.parametrize(("workers", "cores", "expected"), [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 16, 8)])
def test_workers_on_one_machine_split_its_cores(workers: int, cores: int, expected: int) -> None:
    assert threads_per_worker(workers, cores=cores) == expected
