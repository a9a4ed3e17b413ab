import errno
import hashlib
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import csci_utils.parquet as parquet_module
from csci_utils.exit_codes import ExitCode
from pset_1.__main__ import main
from pset_1.synthetic import make_survey, write_workbook

SALT_HEX = "0123456789abcdef"


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def expected_id(name: str) -> str:
    return hashlib.sha256(bytes.fromhex(SALT_HEX) + name.lower().encode()).hexdigest()[:8]


@pytest.fixture
def salted(monkeypatch, tmp_path):
    monkeypatch.setenv("CSCI_SALT", SALT_HEX)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def unsalted(monkeypatch, tmp_path):
    monkeypatch.delenv("CSCI_SALT", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def workbook(tmp_path):
    return write_workbook(tmp_path / "hashed.xlsx", 40, seed=3)


def assert_one_line_error(err: str, *fragments: str) -> None:
    assert err.startswith("pset_1: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_prints_each_users_id(salted, workbook, capsys):
    assert main(["--user", "alice", "--user", "Bob", "--excel", str(workbook)]) == 0
    out = capsys.readouterr().out
    assert f"alice: {expected_id('alice')}\n" in out
    assert f"Bob: {expected_id('bob')}\n" in out


def test_converts_beside_the_workbook_and_prints_the_id_column_read_back(salted, workbook, capsys):
    assert main(["--excel", str(workbook), "--all"]) == 0
    out = capsys.readouterr().out
    assert listing(workbook.parent) == ["hashed.parquet", "hashed.xlsx"]
    for hashed_id in make_survey(40, seed=3)["hashed_id"]:
        assert hashed_id in out
    assert "age" not in out


def test_summary_output_by_default(salted, workbook, capsys):
    assert main(["--excel", str(workbook)]) == 0
    assert "Name: hashed_id" in capsys.readouterr().out


def test_second_run_says_the_parquet_was_kept(salted, workbook, capsys):
    main(["--excel", str(workbook)])
    assert "wrote" in capsys.readouterr().err
    parquet = workbook.with_suffix(".parquet")
    before = parquet.stat().st_mtime_ns
    assert main(["--excel", str(workbook)]) == 0
    assert "kept as is" in capsys.readouterr().err
    assert parquet.stat().st_mtime_ns == before


def test_overwrite_flag_rewrites_the_parquet(salted, workbook, capsys):
    parquet = workbook.with_suffix(".parquet")
    parquet.write_bytes(b"stale")
    assert main(["--excel", str(workbook), "--overwrite"]) == 0
    assert len(pd.read_parquet(parquet)) == 40


def test_no_salt_needed_without_users(unsalted, workbook):
    assert main(["--excel", str(workbook)]) == 0


def test_default_workbook_is_data_hashed_xlsx(salted, capsys):
    assert main([]) == ExitCode.MISSING_INPUT
    assert_one_line_error(capsys.readouterr().err, "data/hashed.xlsx")


def test_missing_workbook_is_a_one_line_error(salted, capsys):
    assert main(["--excel", "nowhere.xlsx"]) == ExitCode.MISSING_INPUT
    assert_one_line_error(capsys.readouterr().err, "nowhere.xlsx", "no such workbook")
    assert listing(salted) == []


def test_a_file_that_is_not_a_workbook_is_a_one_line_error(salted, capsys):
    (salted / "notes.xlsx").write_text("just text")
    assert main(["--excel", "notes.xlsx"]) == ExitCode.BAD_INPUT
    assert_one_line_error(capsys.readouterr().err, "not a readable Excel workbook")
    assert listing(salted) == ["notes.xlsx"]


def test_a_sheet_without_hashed_id_is_a_one_line_error(salted, capsys):
    pd.DataFrame({"user": ["a", "b"]}).to_excel(salted / "plain.xlsx", index=False, engine="xlsxwriter")
    assert main(["--excel", "plain.xlsx"]) == ExitCode.BAD_INPUT
    assert_one_line_error(capsys.readouterr().err, "no column 'hashed_id'")
    assert listing(salted) == ["plain.xlsx"]


def test_missing_salt_stops_before_any_file_is_written(unsalted, workbook, capsys):
    assert main(["--user", "alice", "--excel", str(workbook)]) == ExitCode.CONFIGURATION
    assert_one_line_error(capsys.readouterr().err, "CSCI_SALT is not set")
    assert listing(workbook.parent) == ["hashed.xlsx"]


def test_bad_salt_is_never_echoed(monkeypatch, salted, workbook, capsys):
    monkeypatch.setenv("CSCI_SALT", "top-secret-not-hex")
    assert main(["--user", "alice", "--excel", str(workbook)]) == ExitCode.CONFIGURATION
    captured = capsys.readouterr()
    assert_one_line_error(captured.err, "CSCI_SALT must be hex")
    assert "top-secret" not in captured.err + captured.out
    assert listing(workbook.parent) == ["hashed.xlsx"]


def test_salt_from_a_dotenv_file(unsalted, workbook, capsys):
    (unsalted / ".env").write_text(f"CSCI_SALT={SALT_HEX}\n")
    assert main(["--user", "carol", "--excel", str(workbook)]) == 0
    assert f"carol: {expected_id('carol')}" in capsys.readouterr().out


def test_unknown_option_is_a_usage_error(salted):
    with pytest.raises(SystemExit) as caught:
        main(["--nope"])
    assert caught.value.code == ExitCode.USAGE


@pytest.mark.slow
def test_python_dash_m_runs_and_fails_cleanly(salted, workbook):
    ok = subprocess.run(
        [sys.executable, "-m", "pset_1", "--user", "alice", "--excel", str(workbook)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert f"alice: {expected_id('alice')}" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "pset_1", "--excel", "missing.xlsx"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == ExitCode.MISSING_INPUT
    assert_one_line_error(bad.stderr, "missing.xlsx")


@pytest.mark.slow
def test_a_reader_that_stops_early_gets_no_traceback(salted, tmp_path):
    book = write_workbook(tmp_path / "big.xlsx", 20_000)  # its ids overflow a pipe's buffer
    proc = subprocess.Popen(
        [sys.executable, "-m", "pset_1", "--all", "--excel", str(book)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err


def test_a_full_disk_while_writing_parquet_is_a_failure_not_a_missing_input(
    salted, workbook, monkeypatch, capsys
):
    def disk_full(table, where, **kwargs):
        where.write(b"PAR1 half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(parquet_module.pq, "write_table", disk_full)
    assert main(["--excel", str(workbook)]) == ExitCode.FAILED
    captured = capsys.readouterr()
    assert_one_line_error(captured.err, "hashed.parquet", "No space left on device")
    assert captured.out == ""
    assert listing(workbook.parent) == ["hashed.xlsx"]


def test_ctrl_c_exits_interrupted_and_leaves_nothing_partial(salted, workbook, monkeypatch, capsys):
    def interrupted(table, where, **kwargs):
        where.write(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(parquet_module.pq, "write_table", interrupted)
    assert main(["--excel", str(workbook)]) == ExitCode.INTERRUPTED
    assert_one_line_error(capsys.readouterr().err, "interrupted")
    assert listing(workbook.parent) == ["hashed.xlsx"]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs mounted in ``tmp_path`` (needs root and mount; skipped elsewhere)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tiny filesystem needs root")
    command = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)]
    if subprocess.run(command, capture_output=True, check=False).returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], capture_output=True, check=False)


def write_until_full(fd: int) -> None:
    while True:
        os.write(fd, b"\0" * 4096)


def fill(folder):
    """Fill the filesystem of ``folder`` to the last byte."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with pytest.raises(OSError, match="No space left") as full:
            write_until_full(fd)
    finally:
        os.close(fd)
    assert full.value.errno == errno.ENOSPC


@pytest.mark.slow
def test_python_dash_m_on_a_really_full_disk_exits_failed(salted, tiny_disk):
    book = write_workbook(tiny_disk / "hashed.xlsx", 2000, seed=5)
    fill(tiny_disk)
    done = subprocess.run(
        [sys.executable, "-m", "pset_1", "--excel", str(book)], capture_output=True, text=True, check=False
    )
    assert done.returncode == ExitCode.FAILED, done.stderr
    assert_one_line_error(done.stderr, "hashed.parquet")
    assert done.stdout == ""
    assert listing(tiny_disk) == ["filler", "hashed.xlsx"]
