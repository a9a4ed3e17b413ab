"""One LocalTarget contract, run against luigi's LocalTarget and our atomic-provider targets."""

from __future__ import annotations

import gc
import io
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import luigi.format
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from luigi.local_target import LocalTarget, atomic_file

from csci_utils.luigi.target import (
    BaseAtomicProviderLocalTarget,
    SuffixPreservingLocalTarget,
    suffix_preserving_atomic_file,
)

MakeTarget = Callable[..., LocalTarget]
ALL_BYTES = bytes(range(256)) * 3

plain_leaves_temp_until_gc = pytest.mark.xfail(
    reason="luigi's atomic_file removes its temp file only when garbage-collected", strict=True
)


def write_then_fail(target: LocalTarget, data: str | bytes) -> None:
    """Write part of a file through ``target.open('w')``, then fail inside the block."""
    fail_inside(target.open("w"), data)


def fail_inside(writer: IO[Any], data: str | bytes) -> None:
    """Write part of a file through an open writer's ``with`` block, then fail inside it."""
    with writer as f:
        f.write(data)
        raise RuntimeError("writer failed")


def external_write_then_fail(target: LocalTarget, data: bytes) -> None:
    """Write part of a file through ``target.temporary_path()``, then fail inside the block."""
    with target.temporary_path() as tmp:
        Path(tmp).write_bytes(data)
        raise RuntimeError("writer failed")


def external_write(target: LocalTarget, data: bytes) -> None:
    """Write a whole file through ``target.temporary_path()``."""
    with target.temporary_path() as tmp:
        Path(tmp).write_bytes(data)


def external_directory_then_fail(target: LocalTarget) -> None:
    """Make part of a directory output through ``target.temporary_path()``, then fail inside the block."""
    with target.temporary_path() as tmp:
        Path(tmp).mkdir()
        Path(tmp, "0001.txt").write_text("first")
        raise RuntimeError("writer failed")


class TargetContract:
    """Every behaviour luigi's own LocalTarget tests check; subclasses provide ``target_class``."""

    target_class: type[LocalTarget]

    @pytest.fixture
    def make_target(self, tmp_path: Path) -> MakeTarget:
        def make(name: str, fmt: luigi.format.Format | None = None) -> LocalTarget:
            return self.target_class(os.fspath(tmp_path / name), format=fmt)

        return make

    @pytest.fixture
    def leftovers(self, tmp_path: Path) -> Callable[[], list[str]]:
        return lambda: sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())

    def test_text_round_trip(self, make_target: MakeTarget) -> None:
        target = make_target("notes.txt")
        with target.open("w") as f:
            f.write("first line\nsecond line\n")
        with target.open("r") as f:
            assert f.read() == "first line\nsecond line\n"

    def test_lines_iterate_in_order(self, make_target: MakeTarget) -> None:
        target = make_target("lines.txt")
        with target.open("w") as f:
            f.writelines(["a\n", "b\n", "c\n"])
        with target.open("r") as f:
            assert list(f) == ["a\n", "b\n", "c\n"]

    def test_utf8_text_round_trip(self, make_target: MakeTarget) -> None:
        target = make_target("greek.txt", luigi.format.UTF8)
        with target.open("w") as f:
            f.write("αβγ — ok\n")
        with target.open("r") as f:
            assert f.read() == "αβγ — ok\n"

    def test_binary_round_trip_with_nop_format(self, make_target: MakeTarget) -> None:
        target = make_target("blob.bin", luigi.format.Nop)
        with target.open("wb") as f:
            f.write(ALL_BYTES)
        with target.open("rb") as f:
            assert f.read() == ALL_BYTES

    @pytest.mark.parametrize("fmt", [luigi.format.Gzip, luigi.format.Bzip2], ids=["gzip", "bzip2"])
    def test_compressed_formats_round_trip(self, make_target: MakeTarget, fmt: luigi.format.Format) -> None:
        target = make_target("blob.bin.z", fmt)
        with target.open("w") as f:
            f.write(ALL_BYTES)
        with target.open("r") as f:
            assert f.read() == ALL_BYTES
        assert Path(target.path).read_bytes() != ALL_BYTES

    def test_target_appears_only_when_write_finishes(self, make_target: MakeTarget) -> None:
        target = make_target("late.txt")
        with target.open("w") as f:
            f.write("x")
            assert not target.exists()
        assert target.exists()

    def test_write_creates_missing_parent_folders(self, make_target: MakeTarget) -> None:
        target = make_target("a/b/c.txt")
        with target.open("w") as f:
            f.write("deep")
        assert Path(target.path).read_text() == "deep"

    def test_makedirs_creates_parent_only(self, make_target: MakeTarget) -> None:
        target = make_target("x/y/z.txt")
        target.makedirs()
        assert Path(target.path).parent.is_dir()
        assert not target.exists()

    def test_second_write_replaces_content(self, make_target: MakeTarget) -> None:
        target = make_target("v.txt")
        for text in ("old", "new"):
            with target.open("w") as f:
                f.write(text)
        assert Path(target.path).read_text() == "new"

    def test_exists_and_remove(self, make_target: MakeTarget) -> None:
        target = make_target("gone.txt")
        assert not target.exists()
        Path(target.path).write_text("x")
        assert target.exists()
        target.remove()
        assert not target.exists()

    def test_move_renames_the_file(self, make_target: MakeTarget, tmp_path: Path) -> None:
        target = make_target("from.txt")
        Path(target.path).write_text("moved")
        target.move(os.fspath(tmp_path / "sub" / "to.txt"))
        assert not target.exists()
        assert (tmp_path / "sub" / "to.txt").read_text() == "moved"

    def test_move_refuses_existing_destination_when_asked(
        self, make_target: MakeTarget, tmp_path: Path
    ) -> None:
        target = make_target("from.txt")
        Path(target.path).write_text("a")
        (tmp_path / "to.txt").write_text("b")
        with pytest.raises(luigi.target.FileAlreadyExists):
            target.move(os.fspath(tmp_path / "to.txt"), raise_if_exists=True)
        assert (tmp_path / "to.txt").read_text() == "b"

    def test_copy_leaves_the_source(self, make_target: MakeTarget, tmp_path: Path) -> None:
        target = make_target("src.txt")
        Path(target.path).write_text("copied")
        target.copy(os.fspath(tmp_path / "dst" / "copy.txt"))
        assert Path(target.path).read_text() == "copied"
        assert (tmp_path / "dst" / "copy.txt").read_text() == "copied"

    @pytest.mark.parametrize("mode", ["a", "r+", "x", "rw"])
    def test_unsupported_mode_is_refused(self, make_target: MakeTarget, mode: str) -> None:
        with pytest.raises(Exception, match="mode must be 'r' or 'w'"):
            make_target("m.txt").open(mode)

    def test_reading_a_missing_file_raises_file_not_found(self, make_target: MakeTarget) -> None:
        with pytest.raises(FileNotFoundError):
            make_target("missing.txt").open("r")

    def test_failed_write_keeps_the_old_content(self, make_target: MakeTarget) -> None:
        target = make_target("keep.txt")
        Path(target.path).write_text("old")
        with pytest.raises(RuntimeError, match="writer failed"):
            write_then_fail(target, "partial")
        assert Path(target.path).read_text() == "old"

    def test_failed_write_creates_no_target(self, make_target: MakeTarget) -> None:
        target = make_target("photo.tar.gz")
        with pytest.raises(RuntimeError, match="writer failed"):
            write_then_fail(target, "partial")
        assert not target.exists()

    def test_failed_write_leaves_no_temp_file(self, make_target: MakeTarget, leftovers) -> None:
        writer = make_target("photo.tar.gz", luigi.format.Nop).open("w")
        with pytest.raises(RuntimeError, match="writer failed"):
            fail_inside(writer, b"partial")
        found = leftovers()  # while the caller still holds the writer, as `with ... as f` does
        del writer
        gc.collect()
        assert found == []

    def test_temporary_path_publishes_on_success(self, make_target: MakeTarget) -> None:
        target = make_target("out/ext.dat")
        with target.temporary_path() as tmp:
            Path(tmp).write_bytes(b"from an external writer")
            assert not target.exists()
        assert Path(target.path).read_bytes() == b"from an external writer"

    def test_temporary_path_failure_leaves_nothing(self, make_target: MakeTarget, leftovers) -> None:
        target = make_target("ext.dat")
        with pytest.raises(RuntimeError, match="writer failed"):
            external_write_then_fail(target, b"half")
        assert not target.exists()
        assert leftovers() == []

    def test_temporary_path_does_not_exist_yet_so_x_mode_works(self, make_target: MakeTarget) -> None:
        target = make_target("exclusive.bin")
        with target.temporary_path() as tmp:
            assert not os.path.lexists(tmp)
            with open(tmp, "xb") as f:
                f.write(b"made by a library")
        assert Path(target.path).read_bytes() == b"made by a library"

    def test_temporary_path_publishes_a_directory_output(self, make_target: MakeTarget) -> None:
        target = make_target("out/frames")
        with target.temporary_path() as tmp:
            Path(tmp).mkdir()
            Path(tmp, "0001.txt").write_text("first")
            Path(tmp, "0002.txt").write_text("second")
        assert sorted(p.name for p in Path(target.path).iterdir()) == ["0001.txt", "0002.txt"]

    def test_temporary_path_that_created_nothing_publishes_nothing(
        self, make_target: MakeTarget, leftovers
    ) -> None:
        target = make_target("nothing.dat")
        with pytest.raises(FileNotFoundError), target.temporary_path():
            pass
        assert not target.exists()
        assert leftovers() == []

    def test_temporary_path_refuses_to_replace_an_existing_output(
        self, make_target: MakeTarget, leftovers
    ) -> None:
        target = make_target("done.dat")
        Path(target.path).write_text("first run")
        with pytest.raises(luigi.target.FileAlreadyExists):
            external_write(target, b"second run")
        assert Path(target.path).read_text() == "first run"

    def test_failed_directory_output_leaves_nothing(self, make_target: MakeTarget, tmp_path: Path) -> None:
        target = make_target("frames")
        with pytest.raises(RuntimeError, match="writer failed"):
            external_directory_then_fail(target)
        assert sorted(p.name for p in tmp_path.iterdir()) == []

    @pytest.mark.parametrize("fmt", [luigi.format.Gzip, luigi.format.Bzip2], ids=["gzip", "bzip2"])
    def test_failed_compressed_write_leaves_no_temp_file(
        self, make_target: MakeTarget, leftovers, fmt: luigi.format.Format
    ) -> None:
        writer = make_target("photo.tar.gz", fmt).open("w")
        with pytest.raises(RuntimeError, match="writer failed"):
            fail_inside(writer, b"partial")
        found = leftovers()  # while the caller still holds the writer
        del writer
        gc.collect()
        assert found == []

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
    )
    @given(data=st.binary(max_size=4096))
    def test_any_bytes_round_trip(self, make_target: MakeTarget, data: bytes) -> None:
        target = make_target("any.bin", luigi.format.Nop)
        with target.open("w") as f:
            f.write(data)
        with target.open("r") as f:
            assert f.read() == data


# luigi's atomic_file leaves a failed write's temp file open for the garbage collector to close.
leaks_open_temp_file = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class CollectLeaks:
    """Collect garbage after each test, so luigi's leaked files warn here and not in a later test."""

    @pytest.fixture(autouse=True)
    def _collect_leaked_files(self) -> Iterator[None]:
        yield
        gc.collect()


@leaks_open_temp_file
class TestLuigiLocalTarget(CollectLeaks, TargetContract):
    """The reference: luigi's own LocalTarget, so the contract itself is checked against luigi."""

    target_class = LocalTarget

    @plain_leaves_temp_until_gc
    def test_failed_write_leaves_no_temp_file(self, make_target: MakeTarget, leftovers) -> None:
        super().test_failed_write_leaves_no_temp_file(make_target, leftovers)

    @pytest.mark.xfail(reason="LocalTarget.temporary_path never removes a failed temp file", strict=True)
    def test_temporary_path_failure_leaves_nothing(self, make_target: MakeTarget, leftovers) -> None:
        super().test_temporary_path_failure_leaves_nothing(make_target, leftovers)

    @pytest.mark.xfail(reason="LocalTarget.temporary_path never removes a failed directory", strict=True)
    def test_failed_directory_output_leaves_nothing(self, make_target: MakeTarget, tmp_path: Path) -> None:
        super().test_failed_directory_output_leaves_nothing(make_target, tmp_path)

    @plain_leaves_temp_until_gc
    @pytest.mark.parametrize("fmt", [luigi.format.Gzip, luigi.format.Bzip2], ids=["gzip", "bzip2"])
    def test_failed_compressed_write_leaves_no_temp_file(
        self, make_target: MakeTarget, leftovers, fmt: luigi.format.Format
    ) -> None:
        super().test_failed_compressed_write_leaves_no_temp_file(make_target, leftovers, fmt)


@leaks_open_temp_file
class TestBaseAtomicProviderLocalTarget(CollectLeaks, TargetContract):
    """The seam with luigi's atomic_file plugged in: LocalTarget's open('w'), our temporary_path.

    ``open('w')`` keeps luigi's leak (its atomic_file has no discard); ``temporary_path`` is ours, with
    luigi's temp name, so it removes a failed block's file or directory at once.
    """

    target_class = BaseAtomicProviderLocalTarget

    @plain_leaves_temp_until_gc
    def test_failed_write_leaves_no_temp_file(self, make_target: MakeTarget, leftovers) -> None:
        super().test_failed_write_leaves_no_temp_file(make_target, leftovers)

    @plain_leaves_temp_until_gc
    @pytest.mark.parametrize("fmt", [luigi.format.Gzip, luigi.format.Bzip2], ids=["gzip", "bzip2"])
    def test_failed_compressed_write_leaves_no_temp_file(
        self, make_target: MakeTarget, leftovers, fmt: luigi.format.Format
    ) -> None:
        super().test_failed_compressed_write_leaves_no_temp_file(make_target, leftovers, fmt)


class TestSuffixPreservingLocalTarget(TargetContract):
    target_class = SuffixPreservingLocalTarget

    def test_provider_is_the_suffix_preserving_file(self) -> None:
        assert SuffixPreservingLocalTarget.atomic_provider is suffix_preserving_atomic_file
        assert BaseAtomicProviderLocalTarget.atomic_provider is atomic_file

    def test_open_writes_through_the_suffix_preserving_temp(
        self, make_target: MakeTarget, tmp_path: Path
    ) -> None:
        target = make_target("photo.tar.gz", luigi.format.Nop)
        with target.open("w") as f:
            f.write(b"x")
            temp = Path(f.tmp_path)
            assert temp.parent == tmp_path
            assert temp.name.endswith(".tar.gz")
            assert temp.name.startswith(".photo-")
        assert not temp.exists()

    @pytest.mark.parametrize("name", ["photo.jpg", "archive.tar.gz", "model.v2.onnx", "README"])
    def test_temporary_path_keeps_every_suffix_beside_the_target(
        self, make_target: MakeTarget, tmp_path: Path, name: str
    ) -> None:
        target = make_target(f"out/{name}")
        with target.temporary_path() as tmp:
            temp = Path(tmp)
            assert temp.parent == tmp_path / "out"
            assert temp.suffixes == Path(name).suffixes
            assert temp.name != name
            temp.write_text("x")

    def test_temp_names_are_unique_per_attempt_and_the_first_to_finish_wins(
        self, make_target: MakeTarget
    ) -> None:
        target = make_target("same.png")
        names: list[str] = []

        def two_attempts() -> None:
            with target.temporary_path() as first:
                with target.temporary_path() as second:
                    names.extend([first, second])
                    Path(first).write_text("1")
                    Path(second).write_text("2")
                assert Path(target.path).read_text() == "2"

        with pytest.raises(luigi.target.FileAlreadyExists):
            two_attempts()
        assert len(set(names)) == 2
        assert Path(target.path).read_text() == "2"
        assert sorted(p.name for p in Path(target.path).parent.iterdir()) == ["same.png"]

    def test_a_writer_that_infers_the_format_from_the_suffix_works(self, make_target: MakeTarget) -> None:
        from PIL import Image

        target = make_target("pixel.png")
        with target.temporary_path() as tmp:
            Image.new("RGB", (3, 2), (255, 0, 0)).save(tmp)  # Pillow picks PNG from ".png"
        with Image.open(target.path) as image:
            assert (image.format, image.size) == ("PNG", (3, 2))

    def test_published_file_has_normal_permissions(self, make_target: MakeTarget) -> None:
        target = make_target("perm.txt")
        with target.open("w") as f:
            f.write("x")
        umask = os.umask(0)
        os.umask(umask)
        assert Path(target.path).stat().st_mode & 0o777 == 0o666 & ~umask

    @pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
    def test_killed_writer_never_publishes_a_partial_file(self, tmp_path: Path) -> None:
        target = tmp_path / "big.bin"
        script = textwrap.dedent(
            f"""
            import luigi.format, sys
            from csci_utils.luigi.target import SuffixPreservingLocalTarget
            with SuffixPreservingLocalTarget({os.fspath(target)!r}, format=luigi.format.Nop).open("w") as f:
                f.write(b"x" * 100_000)
                f.flush()
                print("writing", flush=True)
                sys.stdin.read()
            """
        )
        command = [sys.executable, "-c", script]
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
            assert child.stdout is not None
            assert child.stdout.readline() == b"writing\n"
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        assert not target.exists()

    @pytest.mark.parametrize(
        "name", ["v1." + "a" * 240 + ".txt", "r.2026-12-01." + "b" * 236 + ".csv", "é" * 127, "x." * 127]
    )
    def test_names_up_to_name_max_write_through_open_and_temporary_path(
        self, make_target: MakeTarget, tmp_path: Path, name: str
    ) -> None:
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with make_target(f"a/{name}").open("w") as f:
            f.write("opened")
        external_write(make_target(f"b/{name}"), b"external")
        assert (tmp_path / "a" / name).read_text() == "opened"
        assert (tmp_path / "b" / name).read_bytes() == b"external"


_FORMATS = {
    "text": luigi.format.Text,
    "utf8": luigi.format.UTF8,
    "nop": luigi.format.Nop,
    "gzip": luigi.format.Gzip,
    "bzip2": luigi.format.Bzip2,
}


def payload_for(fmt: luigi.format.Format, data: bytes) -> str | bytes:
    """Return ``data`` as the format's writer takes it: text for text formats, bytes otherwise.

    Text drops carriage returns: reading text back translates newlines, which is no part of atomicity.
    """
    if isinstance(fmt, luigi.format.TextFormat):
        return data.replace(b"\r", b"").decode("latin-1")
    return data


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt_name=st.sampled_from(sorted(_FORMATS)), data=st.binary(max_size=2048), fail=st.booleans())
def test_every_format_publishes_whole_or_leaves_nothing(
    tmp_path: Path, fmt_name: str, data: bytes, fail: bool
) -> None:
    folder = tmp_path / f"{fmt_name}-{os.urandom(4).hex()}"
    fmt = _FORMATS[fmt_name]
    target = SuffixPreservingLocalTarget(os.fspath(folder / "out.bin.gz"), format=fmt)
    payload = payload_for(fmt, data)
    if fail:
        with pytest.raises(RuntimeError, match="writer failed"):
            write_then_fail(target, payload)
        assert list(folder.iterdir()) == []
        return
    with target.open("w") as f:
        f.write(payload)
    with target.open("r") as f:
        assert f.read() == payload
    assert [p.name for p in folder.iterdir()] == ["out.bin.gz"]


@pytest.mark.parametrize("fmt", [None, luigi.format.UTF8, luigi.format.Nop], ids=["default", "utf8", "nop"])
def test_plain_and_text_writers_keep_luigis_types(tmp_path: Path, fmt: luigi.format.Format | None) -> None:
    ours = SuffixPreservingLocalTarget(os.fspath(tmp_path / "ours.txt"), format=fmt).open("w")
    theirs = LocalTarget(os.fspath(tmp_path / "theirs.txt"), format=fmt).open("w")
    try:
        assert isinstance(ours, io.IOBase)
        assert isinstance(theirs, io.IOBase)
        assert isinstance(ours, luigi.format.TextWrapper) == isinstance(theirs, luigi.format.TextWrapper)
    finally:
        ours.close()
        theirs.close()


class FailingCompressor(luigi.format.Format):
    """A compressed format whose program reads everything, then exits 3 (as a compressor on a full disk)."""

    input = "bytes"
    output = "bytes"

    def pipe_writer(self, output_pipe: Any) -> Any:
        return luigi.format.OutputPipeProcessWrapper(["sh", "-c", "cat >/dev/null; exit 3"], output_pipe)


def test_a_compressed_writer_that_fails_at_close_leaves_nothing(tmp_path: Path) -> None:
    target = SuffixPreservingLocalTarget(os.fspath(tmp_path / "out.gz"), format=FailingCompressor())
    with pytest.raises(RuntimeError, match="Error when executing"):
        write_then_fail_at_close(target)
    assert list(tmp_path.iterdir()) == []


def write_then_fail_at_close(target: LocalTarget) -> None:
    """Write a whole file through ``target.open('w')``; its writer fails only when closed."""
    with target.open("w") as f:
        f.write(b"data")


# --- the seam: a provider's own naming and publishing serve open() and temporary_path() alike ------------


class part_numbered_atomic_file(atomic_file):
    """A provider that names its temp file ``<name>.part-<n>`` and logs what it publishes."""

    published: list[str] = []  # noqa: RUF012  # a log the tests read, shared on purpose
    _count = 0

    def generate_tmp_path(self, path: str) -> str:
        type(self)._count += 1
        return f"{path}.part-{type(self)._count}"

    def move_to_final_destination(self) -> None:
        self.published.append(self.tmp_path)
        Path(self.tmp_path).rename(self.path)


class PartNumberedTarget(BaseAtomicProviderLocalTarget):
    atomic_provider = part_numbered_atomic_file


@leaks_open_temp_file
class TestAProvidersOwnNamingAndPublishing(CollectLeaks, TargetContract):
    """The whole contract still holds when a subclass plugs in a provider of its own."""

    target_class = PartNumberedTarget

    @plain_leaves_temp_until_gc
    def test_failed_write_leaves_no_temp_file(self, make_target: MakeTarget, leftovers) -> None:
        super().test_failed_write_leaves_no_temp_file(make_target, leftovers)

    @plain_leaves_temp_until_gc
    @pytest.mark.parametrize("fmt", [luigi.format.Gzip, luigi.format.Bzip2], ids=["gzip", "bzip2"])
    def test_failed_compressed_write_leaves_no_temp_file(
        self, make_target: MakeTarget, leftovers, fmt: luigi.format.Format
    ) -> None:
        super().test_failed_compressed_write_leaves_no_temp_file(make_target, leftovers, fmt)

    def test_temporary_path_is_named_and_published_by_the_provider(self, make_target: MakeTarget) -> None:
        target = make_target("out.csv")
        with target.temporary_path() as tmp:
            assert tmp.startswith(f"{target.path}.part-")
            assert not os.path.lexists(tmp)
            Path(tmp).write_text("external")
        assert part_numbered_atomic_file.published[-1] == tmp
        assert Path(target.path).read_text() == "external"

    def test_open_is_named_and_published_by_the_same_provider(self, make_target: MakeTarget) -> None:
        target = make_target("out.csv")
        with target.open("w") as f:
            f.write("opened")
        assert part_numbered_atomic_file.published[-1].startswith(f"{target.path}.part-")
        assert Path(target.path).read_text() == "opened"

    def test_a_block_that_fails_or_makes_nothing_is_never_published(self, make_target: MakeTarget) -> None:
        before = list(part_numbered_atomic_file.published)
        with pytest.raises(FileNotFoundError), make_target("nothing.csv").temporary_path():
            pass
        with pytest.raises(RuntimeError, match="writer failed"):
            external_write_then_fail(make_target("failed.csv"), b"half")
        assert part_numbered_atomic_file.published == before


# --- failures while cleaning up never replace the block's own exception ------------------------------


class AbortFails:
    """A format's writer whose abort itself fails, as a compressor that already died may."""

    def __init__(self, file: Any) -> None:
        self._file = file

    def write(self, data: bytes) -> int:
        return int(self._file.write(data))

    def __enter__(self) -> AbortFails:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is not None:
            raise ValueError("the writer could not be stopped")
        self._file.close()


class AbortFailsFormat(luigi.format.Format):
    input = "bytes"
    output = "bytes"

    def pipe_writer(self, output_pipe: Any) -> Any:
        return AbortFails(output_pipe)


def test_a_writer_whose_abort_fails_still_raises_the_blocks_error_and_leaves_nothing(tmp_path: Path) -> None:
    target = SuffixPreservingLocalTarget(os.fspath(tmp_path / "out.bin"), format=AbortFailsFormat())
    with pytest.raises(RuntimeError, match="writer failed"):
        write_then_fail(target, b"partial")
    assert list(tmp_path.iterdir()) == []


def test_closing_twice_publishes_once(tmp_path: Path) -> None:
    target = SuffixPreservingLocalTarget(os.fspath(tmp_path / "out.bin"), format=luigi.format.Nop)
    with target.open("w") as f:
        f.write(b"data")
        f.close()
    assert Path(target.path).read_bytes() == b"data"


# --- errors name the target, not the temp file ------------------------------------------------------------


def open_and_close(target: LocalTarget, data: bytes) -> None:
    """Write a whole (empty) file through ``target.open('w')``."""
    target.open("w").close()


@pytest.mark.parametrize("write", [open_and_close, external_write], ids=["open", "temporary_path"])
def test_a_file_where_a_folder_should_be_names_the_target(
    tmp_path: Path, write: Callable[[LocalTarget, bytes], None]
) -> None:
    (tmp_path / "images").write_text("a file, not a folder")
    target = SuffixPreservingLocalTarget(os.fspath(tmp_path / "images" / "cache" / "photo.jpg"))
    with pytest.raises(NotADirectoryError) as caught:
        write(target, b"x")
    assert caught.value.filename == target.path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images"]
