import errno
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import csci_utils.io as io_module
import csci_utils.io_cli as io_cli
from csci_utils.exit_codes import ExitCode
from csci_utils.io import atomic_write, remove_stale_temp_files, retarget_error, sibling_temp_path
from csci_utils.io_cli import parse_duration


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
    assert temp.name != target.name
    assert len(os.fsencode(temp.name)) <= 255
    assert io_module.is_temp_name(temp.name)
    short = [s for s in target.suffixes if len(s.encode()) <= 32]
    if short == target.suffixes and len("".join(short).encode()) <= 96:
        assert temp.name.endswith("".join(target.suffixes))
    elif target.suffixes and len(target.suffixes[-1].encode()) <= 32:
        assert temp.name.endswith(target.suffixes[-1])


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


def open_descriptors() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open descriptors in /proc")
@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"buffering": 0}, ValueError),
        ({"encoding": "no-such-codec"}, LookupError),
        ({"errors": 3}, TypeError),
    ],
    ids=["unbuffered-text", "unknown-encoding", "errors-not-a-string"],
)
def test_keywords_open_refuses_raise_opens_own_error_and_leak_nothing(tmp_path, options, error):
    before = open_descriptors()
    with pytest.raises(error), atomic_write(tmp_path / "x.txt", **options):
        pytest.fail("the block must not run")
    assert open_descriptors() == before
    assert listing(tmp_path) == []


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


_BLOCKED_WRITER = textwrap.dedent(
    """
    import sys
    from csci_utils.io import atomic_write

    with atomic_write(sys.argv[1], "wb") as f:
        f.write(b"x" * 1_000_000)
        f.flush()
        print(f.name, flush=True)  # tells the parent the write is under way
        sys.stdin.read()  # then blocks until killed: no timing window
    """
)


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_writer_killed_mid_write_never_shows_a_partial_target(tmp_path):
    target = tmp_path / "big.tar.gz"
    command = [sys.executable, "-c", _BLOCKED_WRITER, str(target)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        temp = Path(proc.stdout.readline().strip())
        assert not target.exists()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
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
    assert sorted(io_module.__all__) == [
        "atomic_write",
        "atomic_write_bytes",
        "fsync_dir",
        "fsync_file",
        "is_temp_name",
        "publish_without_replacing",
        "remove_quietly",
        "remove_stale_temp_files",
        "retarget_error",
        "sibling_temp_path",
    ]


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
    monkeypatch.setattr(io_module, "_new_token", lambda: next(tokens))
    squatter = sibling_temp_path(tmp_path / "a.txt")
    squatter.write_text("someone else's temp")
    write_text(tmp_path / "a.txt", "mine")
    assert squatter.read_text() == "someone else's temp"
    assert (tmp_path / "a.txt").read_text() == "mine"


# --- errors carry errno and filename, as open()'s do --------------------------------------------------


def test_existing_target_error_carries_eexist_and_the_filename(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("x")
    with pytest.raises(FileExistsError) as caught, atomic_write(target):
        pass
    assert (caught.value.errno, caught.value.filename) == (errno.EEXIST, str(target))


def test_missing_directory_error_carries_enoent_and_the_filename(tmp_path):
    target = tmp_path / "no" / "x.txt"
    with pytest.raises(FileNotFoundError) as caught, atomic_write(target):
        pass
    assert (caught.value.errno, caught.value.filename) == (errno.ENOENT, str(target))


def publish_meanwhile(target: Path) -> None:
    """Write ``target`` atomically while another writer publishes it first."""
    with atomic_write(target) as f:
        f.write("mine")
        target.write_text("theirs")


def test_target_published_meanwhile_error_carries_eexist(tmp_path):
    target = tmp_path / "race.txt"
    with pytest.raises(FileExistsError) as caught:
        publish_meanwhile(target)
    assert (caught.value.errno, caught.value.filename) == (errno.EEXIST, str(target))


# --- the block's exception reaches the caller unchanged ------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
@pytest.mark.parametrize("as_file", [True, False])
@pytest.mark.parametrize(
    "clean_up_error",
    [
        lambda path: PermissionError(errno.EACCES, "Permission denied", path),
        lambda path: RecursionError(path),
    ],
    ids=["oserror", "any-other-error"],
)
def test_failing_clean_up_never_replaces_the_blocks_exception(
    tmp_path, monkeypatch, caplog, error, as_file, clean_up_error
):
    def read_only_folder(path, *args, **kwargs):
        raise clean_up_error(os.fspath(path))

    monkeypatch.setattr(os, "unlink", read_only_folder)
    monkeypatch.setattr(shutil, "rmtree", read_only_folder)
    with pytest.raises(type(error)) as caught:
        write_then_fail(tmp_path / "out.txt", error, as_file=as_file)
    monkeypatch.undo()
    assert caught.value is error
    assert "could not remove temp" in caplog.text


def detach_then_fail(target: Path, error: BaseException) -> None:
    """Leave the open file unclosable (closing it raises ValueError, not an OSError), then fail."""
    with atomic_write(target) as f:
        f.write("partial")
        f.detach().close()
        raise error


def test_a_close_that_fails_with_any_error_never_replaces_the_blocks_exception(tmp_path):
    error = RuntimeError("the block's own")
    with pytest.raises(RuntimeError) as caught:
        detach_then_fail(tmp_path / "x.txt", error)
    assert caught.value is error
    assert listing(tmp_path) == []


# --- errors about the temp file name the target --------------------------------------------------------

TMP, TARGET = "/out/.o-0123456789abcdef.jpg", "/out/o.jpg"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        (TMP, TARGET),
        (os.fsencode(TMP), TARGET),
        (Path(TMP), TARGET),
        (f"{TMP}/frames/0001.png", f"{TARGET}/frames/0001.png"),
        (f"{TMP}.part", f"{TMP}.part"),
        ("/in/photo.jpg", "/in/photo.jpg"),
    ],
    ids=["temp", "temp-bytes", "temp-pathlike", "below-temp", "temp-prefix-only", "elsewhere"],
)
def test_an_error_naming_the_temp_path_names_the_target_in_place(filename, expected):
    err = PermissionError(errno.EACCES, "Permission denied", filename)
    assert retarget_error(err, TMP, TARGET) is err
    assert (type(err), err.errno, err.strerror) == (PermissionError, errno.EACCES, "Permission denied")
    assert os.fsdecode(err.filename) == expected


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_an_unnamed_full_disk_error_names_the_target_wherever_it_came_from(code):
    err = OSError(code, os.strerror(code))
    retarget_error(err, TMP, TARGET)
    assert str(err) == f"[Errno {code}] {os.strerror(code)}: {TARGET!r}"


def test_other_unnamed_errors_name_the_target_only_when_writing_the_temp_file():
    reset = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    assert retarget_error(reset, TMP, TARGET).filename is None  # a download's, not the file's
    broken = OSError(errno.EIO, "Input/output error")
    assert retarget_error(broken, TMP, TARGET, writing=True).filename == TARGET
    bare = OSError("no errno to show")
    assert str(retarget_error(bare, TMP, TARGET, writing=True)) == "no errno to show"


def test_a_two_path_error_becomes_one_of_the_same_type_naming_the_target():
    onto_target = OSError(errno.EROFS, "Read-only file system", TMP, None, TARGET)
    named = retarget_error(onto_target, TMP, TARGET, writing=True)
    assert type(named) is OSError
    assert str(named) == f"[Errno {errno.EROFS}] Read-only file system: {TARGET!r}"
    elsewhere = PermissionError(errno.EPERM, "Operation not permitted", TMP, None, "/else/o.jpg")
    named = retarget_error(elsewhere, TMP, TARGET, writing=True)
    assert type(named) is PermissionError
    assert str(named) == f"[Errno {errno.EPERM}] Operation not permitted: {TARGET!r} -> '/else/o.jpg'"


class ReadOnlyFilename(OSError):
    """An OSError whose file name cannot be set, as PyAV's errors are."""

    @property
    def filename(self):  # type: ignore[override]
        return super().filename


def test_an_error_whose_filename_cannot_be_set_becomes_a_new_one_naming_the_target():
    err = ReadOnlyFilename(errno.ENOSPC, "No space left on device", TMP)
    named = retarget_error(err, TMP, TARGET)
    assert type(named) is OSError
    assert str(named) == f"[Errno {errno.ENOSPC}] No space left on device: {TARGET!r}"


@pytest.mark.parametrize("as_file", [True, False])
def test_a_full_disk_in_the_block_names_the_target_and_stays_the_blocks_error(tmp_path, as_file):
    target = tmp_path / "o.bin"
    error = OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(OSError, match="No space") as caught, atomic_write(target, "wb", as_file=as_file):
        raise error
    assert caught.value is error
    assert str(error) == f"[Errno {errno.ENOSPC}] No space left on device: {str(target)!r}"
    assert listing(tmp_path) == []


def test_an_error_the_block_raises_about_the_temp_path_names_the_target(tmp_path):
    target = tmp_path / "frames"
    with pytest.raises(FileNotFoundError) as caught, atomic_write(target, as_file=False) as temp:
        Path(temp, "0001.png").write_bytes(b"no folder made first")
    assert caught.value.filename == str(target / "0001.png")
    assert listing(tmp_path) == []


# --- any name open(name, "x") accepts ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "v1." + "a" * 240 + ".txt",
        "report.2026-12-01.14-05-00." + "b" * 200 + ".csv",
        "a." * 127,
        "." + "c" * 254,
        "d" * 255,
        "x" * 200 + ".tar.gz." + "e" * 40,
        "é" * 127,
    ],
    ids=["early-dot", "date-stamped", "many-dots", "hidden-long", "no-dot", "long-last-suffix", "multibyte"],
)
def test_names_up_to_name_max_can_be_written(tmp_path, name):
    target = tmp_path / name
    with atomic_write(target) as f:
        f.write("ok")
    assert target.read_text() == "ok"
    assert listing(tmp_path) == [name]


def test_long_name_keeps_its_short_trailing_suffixes(tmp_path):
    temp = sibling_temp_path(tmp_path / ("v1." + "a" * 240 + ".tar.gz"))
    assert temp.name.endswith(".tar.gz")
    assert len(temp.name.encode()) <= 255


def raw_path(folder: Path, raw: bytes) -> str:
    """Return the str path of the file named by the bytes ``raw`` in ``folder``, as os.listdir gives it."""
    return os.fsdecode(os.fsencode(folder) + b"/" + raw)


def raw_names(folder: Path) -> list[bytes]:
    return sorted(os.fsencode(p.name) for p in folder.iterdir())


@pytest.mark.skipif(sys.platform != "linux", reason="Linux names are bytes; others need valid Unicode")
def test_names_with_undecodable_bytes_can_be_written(tmp_path):
    raw = b"caf\xe9-\xff\xfe.csv"
    with atomic_write(raw_path(tmp_path, raw)) as f:
        f.write("ok")
    assert raw_names(tmp_path) == [raw]


@pytest.mark.skipif(sys.platform != "linux", reason="Linux names are bytes; others need valid Unicode")
def test_bytes_targets_are_accepted(tmp_path):
    target = os.fsencode(raw_path(tmp_path, b"\xffbytes.bin"))
    with atomic_write(target, "wb") as f:
        f.write(b"ok")
    assert Path(os.fsdecode(target)).read_bytes() == b"ok"


_raw_names = st.binary(min_size=1, max_size=255).filter(
    lambda b: b"/" not in b and b"\x00" not in b and b not in {b".", b".."}
)


@pytest.mark.skipif(sys.platform != "linux", reason="Linux names are bytes; others need valid Unicode")
@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=_raw_names)
def test_any_name_open_accepts_can_be_written(tmp_path, raw):
    folder = tmp_path / secrets.token_hex(4)
    folder.mkdir()
    target = raw_path(folder, raw)
    with atomic_write(target, "wb") as f:
        f.write(raw)
    assert raw_names(folder) == [raw]
    assert Path(target).read_bytes() == raw
    shutil.rmtree(folder)


# --- umasks and permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o222, 0o277])
def test_a_umask_without_owner_write_still_writes(tmp_path, monkeypatch, umask):
    opened = []
    real_open = os.open

    def spy_open(path, flags, *args, **kwargs):
        opened.append(os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_open)
    old = os.umask(umask)
    try:
        with atomic_write(tmp_path / "ro.txt") as f:
            f.write("x")
            temp = f.name
    finally:
        os.umask(old)
    assert (tmp_path / "ro.txt").read_text() == "x"
    assert stat.S_IMODE((tmp_path / "ro.txt").stat().st_mode) == 0o666 & ~umask
    assert opened.count(temp) == 1  # written through the creating descriptor, never reopened by name


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root may write read-only files")
def test_a_umask_without_owner_write_works_for_a_normal_user(tmp_path):
    old = os.umask(0o222)
    try:
        with atomic_write(tmp_path / "ro.txt") as f:
            f.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "ro.txt").read_text() == "x"


@pytest.mark.parametrize("as_file", [True, False])
def test_overwrite_keeps_the_replaced_files_permission_bits(tmp_path, as_file):
    secret = tmp_path / "secrets.env"
    secret.write_text("old")
    secret.chmod(0o600)
    with atomic_write(secret, overwrite=True, as_file=as_file) as f:
        if as_file:
            f.write("new")
        else:
            Path(f).write_text("new")
    assert secret.read_text() == "new"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


# --- after the publish, nothing reports a failure ----------------------------------------------------------


def test_failing_temp_removal_after_publish_is_logged_not_raised(tmp_path, monkeypatch, caplog):
    def broken_unlink(path, *args, **kwargs):
        raise OSError(errno.EIO, "Input/output error", os.fspath(path))

    with atomic_write(tmp_path / "done.txt") as f:
        f.write("complete")
        monkeypatch.setattr(os, "unlink", broken_unlink)
    monkeypatch.undo()
    assert (tmp_path / "done.txt").read_text() == "complete"
    assert "could not remove temp" in caplog.text


def test_failing_directory_sync_after_publish_is_logged_not_raised(tmp_path, monkeypatch, caplog):
    def broken_sync(directory):
        raise OSError(errno.EIO, "Input/output error", os.fspath(directory))

    monkeypatch.setattr(io_module, "fsync_dir", broken_sync)
    with atomic_write(tmp_path / "done.txt") as f:
        f.write("complete")
    assert (tmp_path / "done.txt").read_text() == "complete"
    assert "syncing its directory failed" in caplog.text


@pytest.mark.parametrize("overwrite", [False, True])
def test_interrupt_after_publish_propagates_with_the_target_complete(tmp_path, monkeypatch, overwrite):
    target = tmp_path / "done.txt"
    if overwrite:
        target.write_text("old")

    def interrupted(directory):
        raise KeyboardInterrupt

    monkeypatch.setattr(io_module, "fsync_dir", interrupted)
    with pytest.raises(KeyboardInterrupt), atomic_write(target, overwrite=overwrite) as f:
        f.write("complete")
    assert target.read_text() == "complete"
    assert listing(tmp_path) == ["done.txt"]


def test_interrupt_between_link_and_unlink_leaves_only_the_target(tmp_path, monkeypatch):
    real_link = os.link

    def link_then_interrupt(src, dst):
        real_link(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "link", link_then_interrupt)
    with pytest.raises(KeyboardInterrupt), atomic_write(tmp_path / "done.txt") as f:
        f.write("complete")
    assert (tmp_path / "done.txt").read_text() == "complete"
    assert listing(tmp_path) == ["done.txt"]


# --- as_file=False: a path that does not exist yet ---------------------------------------------------------


def test_as_file_false_path_does_not_exist_yet_so_x_mode_works(tmp_path):
    target = tmp_path / "made.bin"
    with atomic_write(target, "wb", as_file=False) as temp:
        assert not os.path.lexists(temp)
        with open(temp, "xb") as f:
            f.write(b"exclusive")
    assert target.read_bytes() == b"exclusive"


def test_as_file_false_block_that_creates_nothing_publishes_nothing(tmp_path):
    with (
        pytest.raises(FileNotFoundError, match="created nothing"),
        atomic_write(tmp_path / "x", as_file=False),
    ):
        pass
    assert listing(tmp_path) == []


def test_as_file_false_block_that_makes_a_directory_publishes_nothing(tmp_path):
    def make_a_directory(temp: str) -> None:
        Path(temp).mkdir()
        Path(temp, "inside").write_text("x")

    with pytest.raises(IsADirectoryError):
        write_by_library(tmp_path / "x", make_a_directory)
    assert listing(tmp_path) == []


def write_by_library(target: Path, library) -> None:
    """Let ``library`` write the temp path of an ``as_file=False`` block."""
    with atomic_write(target, as_file=False) as temp:
        library(temp)


# --- directories and symlinks ------------------------------------------------------------------------------


@pytest.mark.parametrize("overwrite", [False, True])
def test_trailing_slash_is_a_directory_error(tmp_path, overwrite):
    with pytest.raises(IsADirectoryError) as caught, atomic_write(f"{tmp_path}/new/", overwrite=overwrite):
        pass
    assert caught.value.errno == errno.EISDIR
    assert listing(tmp_path) == []


@pytest.mark.parametrize("name", ["folder", "link-to-folder"])
def test_existing_directory_without_overwrite_is_file_exists_as_open_x_says(tmp_path, name):
    (tmp_path / "folder").mkdir()
    (tmp_path / "link-to-folder").symlink_to(tmp_path / "folder")
    target = tmp_path / name
    with pytest.raises(OSError, match="xists") as by_open:
        open(target, "x")  # noqa: SIM115  # what the builtin says, to match
    with pytest.raises(OSError, match="xists") as caught, atomic_write(target):
        pass
    assert type(caught.value) is type(by_open.value) is FileExistsError
    assert (caught.value.errno, caught.value.filename) == (errno.EEXIST, str(target))
    assert listing(tmp_path) == ["folder", "link-to-folder"]


def test_existing_directory_with_overwrite_is_a_directory_error_as_open_w_says(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError, match="directory") as by_open:
        open(tmp_path / "folder", "w")  # noqa: SIM115  # what the builtin says, to match
    with (
        pytest.raises(OSError, match="directory") as caught,
        atomic_write(tmp_path / "folder", overwrite=True),
    ):
        pass
    assert type(caught.value) is type(by_open.value) is IsADirectoryError
    assert caught.value.errno == errno.EISDIR
    assert listing(tmp_path) == ["folder"]


def test_symlink_target_without_overwrite_is_refused_even_when_dangling(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError), atomic_write(tmp_path / "link"):
        pass
    assert listing(tmp_path) == ["link"]


def test_symlink_target_with_overwrite_is_replaced_and_what_it_pointed_to_is_kept(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("pointed to")
    (tmp_path / "link").symlink_to(real)
    with atomic_write(tmp_path / "link", overwrite=True) as f:
        f.write("new file")
    assert not (tmp_path / "link").is_symlink()
    assert (tmp_path / "link").read_text() == "new file"
    assert real.read_text() == "pointed to"


# --- removing what killed writers left ---------------------------------------------------------------------


def aged(path: Path, seconds: float) -> Path:
    past = time.time() - seconds
    os.utime(path, (past, past), follow_symlinks=False)
    return path


def stale_temp(folder: Path, name: str, age: float = 7200) -> Path:
    temp = sibling_temp_path(folder / name)
    temp.write_text("left by a killed writer")
    return aged(temp, age)


def test_stale_temp_files_older_than_the_bound_are_removed(tmp_path):
    old = stale_temp(tmp_path, "photo.jpg")
    young = stale_temp(tmp_path, "photo.jpg", age=60)
    removed = remove_stale_temp_files(tmp_path, older_than=3600)
    assert removed == [old]
    assert listing(tmp_path) == [young.name]


def test_only_names_of_our_temp_rule_are_removed(tmp_path):
    for name in [".hidden", ".photo-notahexnumber0.jpg", "photo-0123456789abcdef.jpg", "data.csv"]:
        (tmp_path / name).write_text("mine")
        aged(tmp_path / name, 7200)
    assert remove_stale_temp_files(tmp_path, older_than=3600) == []
    assert len(listing(tmp_path)) == 4


def test_stale_temp_files_in_subfolders_are_removed_unless_not_recursive(tmp_path):
    (tmp_path / "sub").mkdir()
    deep = stale_temp(tmp_path / "sub", "a.parquet")
    assert remove_stale_temp_files(tmp_path, older_than=3600, recursive=False) == []
    assert remove_stale_temp_files(tmp_path, older_than=3600) == [deep]


def test_stale_temp_directories_are_removed_whole(tmp_path):
    temp_dir = sibling_temp_path(tmp_path / "frames")
    temp_dir.mkdir()
    (temp_dir / "0001.png").write_text("x")
    aged(temp_dir / "0001.png", 7200)
    aged(temp_dir, 7200)
    assert remove_stale_temp_files(tmp_path, older_than=3600) == [temp_dir]
    assert listing(tmp_path) == []


def test_symlinks_are_never_followed_out_of_the_folder(tmp_path):
    outside, inside = tmp_path / "outside", tmp_path / "inside"
    outside.mkdir()
    inside.mkdir()
    theirs = stale_temp(outside, "theirs.txt")
    (inside / "link").symlink_to(outside)
    (inside / sibling_temp_path("x.txt").name).symlink_to(theirs)
    assert remove_stale_temp_files(inside, older_than=3600) == []
    assert theirs.exists()


def test_killed_writers_temp_file_is_removed_by_the_clean_up(tmp_path):
    with pytest.raises(RuntimeError):
        write_then_fail(tmp_path / "x.txt", RuntimeError())
    leftover = stale_temp(tmp_path, "x.txt")  # what a SIGKILL mid-write leaves
    assert remove_stale_temp_files(tmp_path, older_than=0) == [leftover]


def test_negative_age_bound_is_refused(tmp_path):
    with pytest.raises(ValueError, match="older_than"):
        remove_stale_temp_files(tmp_path, older_than=-1)


def test_clean_up_of_a_missing_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError):
        remove_stale_temp_files(tmp_path / "nope", older_than=0)


@settings(deadline=None)
@given(name=st.text(_name_chars, min_size=1, max_size=255).filter(lambda s: s not in {".", ".."}))
@example(name="0..0")  # a lone "." among the suffixes (found by hypothesis)
def test_every_temp_name_is_recognised_as_ours(name):
    assert io_module.is_temp_name(sibling_temp_path(Path("d") / name).name)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600), ("2d", 172800), ("1.5h", 5400)]
)
def test_durations_accept_seconds_minutes_hours_and_days(text, seconds):
    assert parse_duration(text) == seconds


def test_clean_command_prints_what_it_removed(tmp_path, capsys):
    old = stale_temp(tmp_path, "a.txt")
    assert io_cli.main(["clean", str(tmp_path), "--older-than", "1h"]) == ExitCode.OK
    assert capsys.readouterr().out == f"{old}\n"
    assert listing(tmp_path) == []


def test_clean_command_on_a_missing_folder_exits_missing_input(tmp_path, capsys):
    assert io_cli.main(["clean", str(tmp_path / "nope"), "--older-than", "1h"]) == ExitCode.MISSING_INPUT
    assert "nope" in capsys.readouterr().err


@pytest.mark.parametrize("age", ["1w", "-1h", "soon", ""])
def test_clean_command_with_a_bad_age_exits_usage(tmp_path, age):
    with pytest.raises(SystemExit) as caught:
        io_cli.main(["clean", str(tmp_path), "--older-than", age])
    assert caught.value.code == ExitCode.USAGE


@pytest.mark.slow
@pytest.mark.parametrize(
    "program",
    [[str(Path(sysconfig.get_path("scripts")) / "csci-io")], [sys.executable, "-m", "csci_utils.io_cli"]],
    ids=["installed-script", "module"],
)
def test_clean_command_runs_as_the_installed_script_and_as_a_module(tmp_path, program):
    old = stale_temp(tmp_path, "a.txt")
    command = [*program, "clean", str(tmp_path), "--older-than", "30m"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, f"{old}\n", "")


def test_a_file_where_the_folder_should_be_is_not_a_directory_error(tmp_path):
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "out.txt"
    with pytest.raises(NotADirectoryError) as caught, atomic_write(target) as f:
        f.write("never")
    assert caught.value.errno == errno.ENOTDIR
    assert caught.value.filename == str(target)
