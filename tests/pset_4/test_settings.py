from __future__ import annotations

import pytest

from pset_4.settings import (
    CACHE_ENV,
    DEFAULT_CACHE,
    DEFAULT_REMOTE,
    REMOTE_ENV,
    THREADS_ENV,
    configured,
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


def test_the_pset_4_section_is_a_luigi_config() -> None:
    from pset_4.settings import Pset4Config

    with configured(remote_root="s3://bucket/root", cache_root="/tmp/c", engine_threads=2):
        config = Pset4Config()
        assert (config.remote_root, config.cache_root) == ("s3://bucket/root", "/tmp/c")
        assert config.engine_threads == "2"
        assert resolve_settings().engine_threads == 2


def test_configured_restores_the_configuration_after_the_block() -> None:
    before = resolve_settings()
    with configured(remote_root="elsewhere"):
        assert resolve_settings().remote_root == "elsewhere"
    assert resolve_settings() == before


def test_the_environment_is_read_into_luigis_configuration_once(tmp_path) -> None:
    import subprocess
    import sys

    code = "from pset_4.settings import resolve_settings as r; print(r().remote_root, r().cache_root)"
    env = {"PATH": "/usr/bin:/bin", REMOTE_ENV: "s3://b/p", CACHE_ENV: str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["s3://b/p", str(tmp_path)]


def test_an_option_set_in_luigis_configuration_is_seen_at_the_next_call() -> None:
    import luigi.configuration

    config = luigi.configuration.get_config()
    with configured(remote_root="first"):
        assert resolve_settings().remote_root == "first"
        config.set("pset_4", "remote_root", "second")  # as luigi.cfg read again, or another library, would
        assert resolve_settings().remote_root == "second"


def test_a_bad_engine_threads_in_the_configuration_is_refused_at_every_call() -> None:
    import luigi.configuration

    config = luigi.configuration.get_config()
    with configured(engine_threads=1):
        config.set("pset_4", "engine_threads", "none")
        for _ in range(2):
            with pytest.raises(ValueError, match="engine_threads"):
                resolve_settings()


def test_luigis_command_line_flags_for_the_section_are_honoured() -> None:
    import luigi
    from luigi.cmdline_parser import CmdlineParser

    from pset_4.settings import Pset4Config

    class Probe(luigi.Task):
        pass

    with CmdlineParser.global_instance(["Probe", "--pset-4-remote-root", "from-flags"]):
        assert Pset4Config().remote_root == "from-flags"
        assert resolve_settings().remote_root == "from-flags"
    assert resolve_settings().remote_root != "from-flags"
