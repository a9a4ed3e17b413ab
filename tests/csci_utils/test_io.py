import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import csci_utils.io as io_module
from csci_utils.io import atomic_write, sibling_temp_path


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def write_then_fail(target, error: BaseException, seen: list[str] | None = None, **options) -> None:
    """Run an atomic_write block that writes something, then raises ``error``."""
    with atomic_write(target, **options) as handle:
        if options.get("as_file", True):
            handle.write("partial")
            if seen is not None:
                seen.append(handle.name)
        else:
            Path(handle).write_bytes(b"half")
        raise error


# --- sibling_temp_path -------------------------------------------------------------------------------


def test_temp_name_keeps_every_suffix_and_the_directory(tmp_path):
    temp = sibling_temp_path(tmp_path / "archive.tar.gz")
    assert temp.parent == tmp_path
    assert temp.name.endswith(".tar.gz")
    assert temp.name.startswith(".archive-")


def test_temp_name_of_the_longest_name_still_fits_and_can_be_created(tmp_path):
    target = tmp_path / ("é" * 120 + ".tar.gz")  # 247 bytes of UTF-8
    temp = sibling_temp_path(target)
    assert len(temp.name.encode()) <= 255
    assert temp.name.endswith(".tar.gz")
    with atomic_write(target, "wb") as f:
        f.write(b"ok")
    assert target.read_bytes() == b"ok"


def test_temp_names_differ_on_every_call(tmp_path):
    names = {sibling_temp_path(tmp_path / "a.txt") for _ in range(1000)}
    assert len(names) == 1000


def test_temp_name_of_a_path_without_a_name_is_refused():
    with pytest.raises(ValueError, match="no file name"):
        sibling_temp_path("/")


_name_chars = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\x00")


@settings(deadline=None)  # timing on shared CI cores is no part of the property
@given(
    stem=st.text(_name_chars, min_size=1, max_size=300).filter(lambda s: "." not in s),
    suffixes=st.lists(
        st.text(_name_chars, min_size=1, max_size=8).filter(lambda s: "." not in s), max_size=4
    ),
)
def test_temp_name_rule_holds_for_any_name(stem, suffixes):
    target = Path("folder") / (stem + "".join(f".{s}" for s in suffixes))
    temp = sibling_temp_path(target)
    assert temp.parent == target.parent
    assert temp.name.endswith("".join(target.suffixes))
    assert temp.name != target.name
    if len(target.name.encode()) <= 255:
        assert len(temp.name.encode()) <= 255


# --- the happy path ----------------------------------------------------------------------------------


def test_text_write_publishes_the_content(tmp_path):
    target = tmp_path / "hello.txt"
    with atomic_write(target) as f:
        f.write("world!")
    assert target.read_text() == "world!"
    assert listing(tmp_path) == ["hello.txt"]


def test_binary_write_publishes_the_bytes(tmp_path):
    target = tmp_path / "blob.bin"
    with atomic_write(target, "wb") as f:
        f.write(b"\x00\xff" * 10)
    assert target.read_bytes() == b"\x00\xff" * 10


def test_str_and_pathlike_targets_are_accepted(tmp_path):
    class Where:
        def __init__(self, path):
            self.path = path

        def __fspath__(self):
            return self.path

    with atomic_write(str(tmp_path / "a.txt")) as f:
        f.write("a")
    with atomic_write(Where(str(tmp_path / "b.txt"))) as f:
        f.write("b")
    assert listing(tmp_path) == ["a.txt", "b.txt"]


def test_nothing_is_visible_under_the_target_name_until_the_block_ends(tmp_path):
    target = tmp_path / "report.csv"
    with atomic_write(target) as f:
        f.write("a,b\n")
        f.flush()
        assert not target.exists()
    assert target.exists()


def test_temp_file_is_beside_the_target_and_keeps_all_suffixes(tmp_path):
    target = tmp_path / "archive.tar.gz"
    with atomic_write(target, "wb") as f:
        temp = Path(f.name)
        assert temp.parent == tmp_path
        assert temp.name.endswith(".tar.gz")
        assert temp.name != target.name
        assert temp.exists()
    assert not temp.exists()


def test_as_file_false_yields_the_temp_path_for_libraries(tmp_path):
    target = tmp_path / "table.tar.gz"
    with atomic_write(target, as_file=False) as temp:
        assert isinstance(temp, str)
        assert Path(temp).parent == tmp_path
        assert temp.endswith(".tar.gz")
        Path(temp).write_bytes(b"written by a library")
    assert target.read_bytes() == b"written by a library"
    assert listing(tmp_path) == ["table.tar.gz"]


def test_kwargs_reach_open(tmp_path):
    target = tmp_path / "utf16.txt"
    with atomic_write(target, encoding="utf-16", newline="\r\n") as f:
        f.write("héllo\n")
    assert target.read_bytes().decode("utf-16") == "héllo\r\n"


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_published_file_gets_umask_permissions_not_0600(tmp_path, umask):
    old = os.umask(umask)
    try:
        with atomic_write(tmp_path / "perm.txt") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "perm.txt").stat().st_mode) == 0o666 & ~umask


def test_data_is_fsynced_before_publishing_and_the_directory_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_link = os.fsync, os.link

    def spy_fsync(fd):
        events.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def spy_link(src, dst):
        events.append("publish")
        real_link(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "link", spy_link)
    with atomic_write(tmp_path / "durable.txt") as f:
        f.write("x")
    assert events == ["fsync-file", "publish", "fsync-dir"]


def test_overwrite_replaces_an_existing_target(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with atomic_write(target, overwrite=True) as f:
        f.write("new")
    assert target.read_text() == "new"
    assert listing(tmp_path) == ["t.txt"]


# --- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["r", "rb", "a", "ab", "w+", "wb+", "r+", "x+", "", "wbt", "ww"])
def test_read_append_and_update_modes_are_refused(tmp_path, mode):
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "m.txt", mode):
        pass
    assert listing(tmp_path) == []


@pytest.mark.parametrize("mode", ["w", "wt", "wb", "bw", "x", "xb"])
def test_plain_write_modes_are_accepted(tmp_path, mode):
    with atomic_write(tmp_path / "m.dat", mode) as f:
        f.write(b"1" if "b" in mode else "1")
    assert (tmp_path / "m.dat").read_bytes() == b"1"


def test_existing_target_is_refused_before_any_work(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("precious")
    entered = False
    with pytest.raises(FileExistsError, match=r"keep\.txt"), atomic_write(target):
        entered = True
    assert not entered
    assert target.read_text() == "precious"
    assert listing(tmp_path) == ["keep.txt"]


def test_target_created_during_the_write_is_not_clobbered(tmp_path):
    target = tmp_path / "race.txt"

    def write_while_someone_publishes():
        with atomic_write(target) as f:
            f.write("mine")
            target.write_text("theirs")

    with pytest.raises(FileExistsError, match="another writer"):
        write_while_someone_publishes()
    assert target.read_text() == "theirs"
    assert listing(tmp_path) == ["race.txt"]


def test_missing_directory_says_which(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"), atomic_write(tmp_path / "no" / "x.txt"):
        pass


# --- failures inside the block -----------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_error_in_the_block_removes_the_temp_file_and_reraises_it(tmp_path, error):
    target = tmp_path / "out.txt"
    with pytest.raises(type(error)) as caught:
        write_then_fail(target, error)
    assert caught.value is error
    assert listing(tmp_path) == []


def test_error_with_as_file_false_removes_what_the_library_wrote(tmp_path):
    with pytest.raises(RuntimeError):
        write_then_fail(tmp_path / "t.parquet", RuntimeError(), as_file=False)
    assert listing(tmp_path) == []


def test_failed_write_leaves_an_existing_target_untouched(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        write_then_fail(target, RuntimeError(), overwrite=True)
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["t.txt"]


def test_retry_after_a_failure_uses_a_new_temp_file(tmp_path):
    target = tmp_path / "retry.txt"
    temps = []
    for _ in range(2):
        with pytest.raises(RuntimeError):
            write_then_fail(target, RuntimeError(), seen=temps)
    with atomic_write(target) as f:
        temps.append(f.name)
        f.write("third time")
    assert len(set(temps)) == 3
    assert target.read_text() == "third time"


# --- other processes ---------------------------------------------------------------------------------

_RACER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from csci_utils.io import atomic_write

    target, barrier, me, racers = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    try:
        with atomic_write(target, "wb") as f:
            f.write(me.encode() * 200_000)
            (barrier / me).touch()
            deadline = time.monotonic() + 60
            # Everyone is past the up-front existence check before anyone publishes.
            while len(list(barrier.iterdir())) < racers and time.monotonic() < deadline:
                time.sleep(0.005)
    except FileExistsError:
        sys.exit(3)
    """
)


@pytest.mark.slow
def test_racing_processes_exactly_one_wins_and_nothing_is_clobbered(tmp_path):
    out, barrier = tmp_path / "out", tmp_path / "barrier"
    out.mkdir()
    barrier.mkdir()
    target = out / "prize.bin"
    racers = 8
    procs = {
        f"w{i}": subprocess.Popen(
            [sys.executable, "-c", _RACER, str(target), str(barrier), f"w{i}", str(racers)]
        )
        for i in range(racers)
    }
    codes = {name: proc.wait(timeout=120) for name, proc in procs.items()}

    winners = [name for name, code in codes.items() if code == 0]
    assert len(winners) == 1, codes
    assert sorted(codes.values()) == [0] + [3] * (racers - 1)
    assert target.read_bytes() == winners[0].encode() * 200_000
    assert listing(out) == ["prize.bin"]


_SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    from csci_utils.io import atomic_write

    with atomic_write(sys.argv[1], "wb") as f:
        f.write(b"x" * 1_000_000)
        f.flush()
        print(f.name, flush=True)
        while True:
            f.write(b"y" * 1000)
            time.sleep(0.01)
    """
)


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_writer_killed_mid_write_never_shows_a_partial_target(tmp_path):
    target = tmp_path / "big.tar.gz"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    try:
        temp = Path(proc.stdout.readline().strip())
        for _ in range(20):
            assert not target.exists()
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists()
    # Nothing runs at SIGKILL, so the hidden temp stays; it never carries the target's name.
    assert listing(tmp_path) == [temp.name]
    assert temp.name.startswith(".big-")
    assert temp.name.endswith(".tar.gz")
    assert temp.stat().st_size >= 1_000_000

    with atomic_write(target, "wb") as f:
        f.write(b"retry")
    assert target.read_bytes() == b"retry"


def test_no_hard_links_falls_back_to_a_checked_rename(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    with atomic_write(tmp_path / "fat.txt") as f:
        f.write("ok")
    assert (tmp_path / "fat.txt").read_text() == "ok"
    assert listing(tmp_path) == ["fat.txt"]


def test_module_exports_the_writer_and_its_building_blocks():
    assert sorted(io_module.__all__) == ["atomic_write", "fsync_dir", "fsync_file", "sibling_temp_path"]


def write_text(target, text: str) -> None:
    with atomic_write(target) as f:
        f.write(text)


def test_no_hard_links_still_refuses_a_target_published_meanwhile(tmp_path, monkeypatch):
    target = tmp_path / "fat.txt"

    def no_links(src, dst):
        target.write_text("theirs")  # another writer published first
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    with pytest.raises(FileExistsError):
        write_text(target, "mine")
    assert target.read_text() == "theirs"
    assert listing(tmp_path) == ["fat.txt"]


def test_other_publish_errors_propagate_and_clean_up(tmp_path, monkeypatch):
    def broken_disk(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "link", broken_disk)
    with pytest.raises(OSError, match="Input/output"):
        write_text(tmp_path / "x.txt", "data")
    assert listing(tmp_path) == []


def test_a_taken_temp_name_is_skipped_not_shared(tmp_path, monkeypatch):
    tokens = iter(["taken", "taken", "free"])
    monkeypatch.setattr(io_module.secrets, "token_hex", lambda _n: next(tokens))
    squatter = sibling_temp_path(tmp_path / "a.txt")
    squatter.write_text("someone else's temp")
    write_text(tmp_path / "a.txt", "mine")
    assert squatter.read_text() == "someone else's temp"
    assert (tmp_path / "a.txt").read_text() == "mine"
