from __future__ import annotations

import pytest

from pset_4.settings import (
    CACHE_ENV,
    DEFAULT_CACHE,
    DEFAULT_REMOTE,
    MEMORY_PER_WORKER,
    REMOTE_ENV,
    THREADS_ENV,
    WorkflowSettings,
    available_memory,
    configured,
    current_settings,
    default_workers,
    resolve_settings,
    run_settings,
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


@pytest.mark.parametrize(
    ("pairs", "cores", "memory", "expected"),
    [
        (80, 2, 24 * 2**30, 2),  # one per core
        (1, 8, 24 * 2**30, 1),  # no more than the pairs
        (80, 8, 2 * MEMORY_PER_WORKER + 1, 2),  # no more than the free memory holds
        (80, 8, MEMORY_PER_WORKER // 2, 1),  # always at least one
    ],
)
def test_default_workers_are_one_per_core_within_pairs_and_memory(
    pairs: int, cores: int, memory: int, expected: int
) -> None:
    assert default_workers(pairs, cores=cores, memory=memory) == expected


def test_available_memory_is_a_positive_byte_count() -> None:
    assert available_memory() > 2**20


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


def test_a_fresh_process_reads_the_environment(tmp_path) -> None:
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


def test_an_environment_change_is_seen_at_the_next_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REMOTE_ENV, "s3://first/p")
    assert resolve_settings().remote_root == "s3://first/p"
    monkeypatch.setenv(REMOTE_ENV, "s3://second/p")
    assert resolve_settings().remote_root == "s3://second/p"
    monkeypatch.delenv(REMOTE_ENV)
    assert resolve_settings().remote_root != "s3://second/p"


def test_what_the_program_sets_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REMOTE_ENV, "s3://from-env/p")
    with configured(remote_root="s3://from-program/p") as settings:
        assert settings.remote_root == "s3://from-program/p"
        with configured(cache_root="/tmp/c"):
            assert resolve_settings().remote_root == "s3://from-program/p"
    assert resolve_settings().remote_root == "s3://from-env/p"


def test_luigis_command_line_flags_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import luigi
    from luigi.cmdline_parser import CmdlineParser

    class FlagProbe(luigi.Task):
        pass

    monkeypatch.setenv(REMOTE_ENV, "s3://from-env/p")
    with CmdlineParser.global_instance(["FlagProbe", "--pset-4-remote-root", "from-flags"]):
        assert resolve_settings().remote_root == "from-flags"


def test_video_options_are_resolved_with_the_rest() -> None:
    with configured(max_size=640, segment_seconds=1.5) as settings:
        assert (settings.video.max_size, settings.video.segment_seconds) == (640, 1.5)
        assert settings.video.options()["max_size"] == 640


@pytest.mark.parametrize(("option", "value"), [("max_size", 8), ("segment_seconds", 0.0)])
def test_a_bad_video_option_is_refused_naming_the_setting(option: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"\[pset_4_video\] {option}"), configured(**{option: value}):
        pass


@pytest.mark.parametrize(("threads", "workers", "expected"), [(None, 1, None), (None, 2, 1), (3, 2, 3)])
def test_workers_share_the_cores_unless_engine_threads_is_set(
    threads: int | None, workers: int, expected: int | None
) -> None:
    settings = WorkflowSettings(remote_root="r", cache_root="c", engine_threads=threads)
    assert settings.for_workers(workers).engine_threads == (
        threads_per_worker(workers) if expected is not None and threads is None else expected
    )


def test_a_run_installs_its_settings_for_the_tasks_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REMOTE_ENV, "s3://outside/p")
    run = WorkflowSettings(remote_root="s3://the-run/p", cache_root="c")
    with run_settings(run):
        monkeypatch.setenv(REMOTE_ENV, "s3://changed-mid-run/p")
        assert current_settings() is run
    assert current_settings().remote_root == "s3://changed-mid-run/p"


@pytest.mark.parametrize("change", ["environment", "configured"])
def test_each_run_of_a_program_gets_its_own_settings(
    change: str, tmp_path, monkeypatch: pytest.MonkeyPatch, make_photo, multistyle
) -> None:
    """Two runs in one process, the settings changed between them: each run's tasks use its own."""
    import contextlib
    import shutil

    from pset_4.batch import Batch
    from pset_4.workflow import run_batch

    monkeypatch.chdir(tmp_path)
    for name in ("first", "second"):
        make_photo(tmp_path / name / "remote" / "images" / "p.png")
        (tmp_path / name / "remote" / "saved_models").mkdir()
        shutil.copyfile(multistyle, tmp_path / name / "remote" / "saved_models" / "m.onnx")
    for name in ("first", "second"):
        remote, cache = str(tmp_path / name / "remote"), str(tmp_path / name / "cache")
        block: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        if change == "environment":
            monkeypatch.setenv(REMOTE_ENV, remote)
            monkeypatch.setenv(CACHE_ENV, cache)
        else:
            block = configured(remote_root=remote, cache_root=cache)
        with block:
            report = run_batch(
                Batch(["p.png"], ["m.onnx"], ["3"]), workers=2, sheet=False, log_level="CRITICAL"
            )
        assert report.ok, report.reasons
        assert [path.startswith(remote) for path in report.published] == [True]
    for name in ("first", "second"):
        assert len(list((tmp_path / name / "remote" / "stylized").iterdir())) == 1
        assert len(list((tmp_path / name / "cache" / "stylized").iterdir())) == 1
