"""Local Luigi targets whose atomic writes keep the final name's suffixes on the temp file.

Luigi's :class:`~luigi.local_target.LocalTarget` writes to ``name.jpg-luigi-tmp-123`` and renames on
close, so a library that picks the file format from the extension (Pillow, pandas, onnx) cannot write
through it. :class:`SuffixPreservingLocalTarget` writes to a hidden sibling that keeps the suffixes
(``photo.tar.gz`` -> ``.photo-<random>.tar.gz``, see :func:`csci_utils.io.sibling_temp_path`), flushes it
to disk, and renames it into place. A write that raises removes its temp file at once, in every format
(gzip and bzip2 included), rather than when the garbage collector gets to it. An OSError from creating,
writing or publishing the temp file names the target, not the hidden temp name
(:func:`csci_utils.io.retarget_error`).

``temporary_path()`` takes its temp name from the target's ``atomic_provider``, as ``open('w')`` does, and
keeps Luigi's own contract (:meth:`luigi.target.FileSystemTarget.temporary_path`): the path it yields
does not exist yet (so a directory output, or ``open(path, 'x')``, works); a block that
created nothing raises FileNotFoundError and publishes nothing; an existing output is never replaced
(:class:`luigi.target.FileAlreadyExists`); and, unlike Luigi's, a failed block's file or directory is
removed at once.
"""

from __future__ import annotations

import errno
import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn, cast

from luigi.format import OutputPipeProcessWrapper
from luigi.local_target import LocalTarget, atomic_file
from luigi.target import AtomicLocalFile, FileAlreadyExists

from csci_utils.io import (
    fsync_dir,
    fsync_file,
    publish_without_replacing,
    remove_quietly,
    retarget_error,
    sibling_temp_path,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = ["BaseAtomicProviderLocalTarget", "SuffixPreservingLocalTarget", "suffix_preserving_atomic_file"]

log = logging.getLogger(__name__)


def _raise_naming(err: OSError, tmp: str, target: str, *, writing: bool) -> NoReturn:
    """Raise ``err`` naming ``target`` where it names the temp file (see :func:`retarget_error`)."""
    named = retarget_error(err, tmp, target, writing=writing)
    if named is err:
        raise err
    raise named from err


def _name_in_place(exc: OSError, tmp: str, target: str) -> None:
    """Make a block's OSError name ``target`` where it names the temp file, for it to propagate as is."""
    named = retarget_error(exc, tmp, target)
    if named is not exc:  # a two-path error cannot be renamed in place
        raise named from exc


class suffix_preserving_atomic_file(atomic_file):
    """An atomic local file whose temp path sits beside ``path`` and keeps its suffixes.

    The temp name is new on every instance. Closing publishes: data fsynced, renamed onto ``path`` (replacing
    it, as :class:`~luigi.local_target.LocalTarget` does), directory fsynced; a second close does nothing.
    Leaving a ``with`` block by an exception, or a close that fails, discards the temp file instead, and
    the original exception propagates. An OSError from creating, writing, closing or publishing the temp
    file names ``path``, with its own errno and message.
    """

    def __init__(self, path: str) -> None:
        """Create the temp file beside ``path``."""
        try:
            super().__init__(path)
        except OSError as err:
            _raise_naming(err, self.tmp_path, path, writing=True)

    def generate_tmp_path(self, path: str) -> str:
        """Return a fresh hidden name beside ``path`` with the same suffixes."""
        return os.fspath(sibling_temp_path(path))

    def write(self, data: ReadableBuffer, /) -> int:
        """Write like :class:`io.BufferedWriter`; an OSError (a full disk) names the final path."""
        try:
            return int(super().write(data))
        except OSError as err:
            _raise_naming(err, self.tmp_path, self.path, writing=True)

    def flush(self) -> None:
        """Flush like :class:`io.BufferedWriter`; an OSError (a full disk) names the final path."""
        try:
            super().flush()
        except OSError as err:
            _raise_naming(err, self.tmp_path, self.path, writing=True)

    def close(self) -> None:
        """Publish the temp file onto the final path; if that fails, discard it and raise why."""
        if self.closed:
            return
        try:
            io.BufferedWriter.close(self)
            self.move_to_final_destination()
        except BaseException as err:
            self.discard()
            if isinstance(err, OSError):
                _raise_naming(err, self.tmp_path, self.path, writing=True)
            raise

    def move_to_final_destination(self) -> None:
        """Flush the finished temp file to disk and rename it onto the final path."""
        final = Path(self.path)
        fsync_file(self.tmp_path)
        Path(self.tmp_path).replace(final)
        try:
            fsync_dir(final.parent)
        except OSError as err:  # the file is published and complete: say so, do not fail the write
            log.warning("%s is written, but syncing its directory failed: %s", final, err)

    def discard(self) -> None:
        """Close without publishing and remove the temp file (idempotent; never raises)."""
        if not self.closed:
            try:
                # BufferedWriter.close, not ours: ours would publish the partial file.
                io.BufferedWriter.close(self)
            except Exception as err:  # a full disk fails the last flush: that data is being dropped
                log.debug("closing the temp file %s failed too: %s", self.tmp_path, err)
        remove_quietly(Path(self.tmp_path))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Publish if the block succeeded; otherwise discard the temp file and let the exception propagate."""
        if exc_type is None:
            self.close()
            return
        self.discard()
        if isinstance(exc, OSError):
            _name_in_place(exc, self.tmp_path, self.path)


class _DiscardOnFailure:
    """A format's writer (gzip, text, ...) around an atomic file, which it discards when the write fails.

    Luigi's compressed writers end a failed block by stopping their program, and never close or remove the
    file they wrote into; this wrapper removes it at once, also when the program itself fails at close.
    """

    def __init__(self, writer: Any, file: suffix_preserving_atomic_file) -> None:
        self._writer = writer
        self._file = file

    def __getattr__(self, name: str) -> Any:
        """Delegate everything else (``write``, ``close``, ``tmp_path`` ...) to the format's writer."""
        return getattr(self._writer, name)

    def __enter__(self) -> _DiscardOnFailure:
        """Enter the writer's own ``with`` block."""
        self._writer.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Let the writer finish or abort, then discard the temp file if anything failed.

        When the block failed, its exception is the one that propagates: a failure to abort the writer
        is logged, not raised over it.
        """
        file = self._file
        if exc_type is None:
            try:
                self._writer.__exit__(None, None, None)
            except BaseException as err:
                file.discard()
                if isinstance(err, OSError):
                    _raise_naming(err, file.tmp_path, file.path, writing=True)
                raise
            return
        try:
            self._writer.__exit__(exc_type, exc, traceback)
        except Exception as err:
            log.debug("stopping the writer of %s failed too: %s", file.path, err)
        file.discard()
        if isinstance(exc, OSError):
            _name_in_place(exc, file.tmp_path, file.path)


def _exits_through(writer: object, file: AtomicLocalFile) -> bool:
    """Tell whether leaving ``writer``'s ``with`` block reaches ``file``'s own ``__exit__``.

    Luigi's text wrappers pass their exit down (``_stream``); its compressed writers do not. Only writers
    that do not need :class:`_DiscardOnFailure`, so plain and text writes keep luigi's types.
    """
    layer: object = writer
    while layer is not file:
        if isinstance(layer, OutputPipeProcessWrapper):
            return False
        layer = vars(layer).get("_stream") if hasattr(layer, "__dict__") else None
        if layer is None:
            return False
    return True


def _fsync_tree(directory: Path) -> None:
    """Flush every file of a finished directory output, and the directories, to disk."""
    for root, _dirs, files in os.walk(directory):
        for name in files:
            fsync_file(Path(root) / name)
        fsync_dir(root)


# Providers whose publishing is a rename that replaces: temporary_path publishes their temp path itself,
# so that a target another writer published meanwhile is refused, never replaced.
_RENAMING_PROVIDERS = frozenset(
    {atomic_file.move_to_final_destination, suffix_preserving_atomic_file.move_to_final_destination}
)


def _new_temp_name(provider: type[AtomicLocalFile], path: str) -> AtomicLocalFile:
    """Return a closed ``provider`` file for ``path`` whose temp path, named by the provider, is free.

    The provider creates its temp file; it is closed without publishing and removed, so the path it
    names does not exist yet when an external writer gets it.
    """
    file = provider(path)
    tmp = file.tmp_path
    io.BufferedWriter.close(file)  # the provider's own close would publish the empty file
    try:
        Path(tmp).unlink()
    except OSError as err:
        _raise_naming(err, tmp, path, writing=True)
    return file


def _publish_temporary(file: AtomicLocalFile, final: Path) -> None:
    """Move a finished temp file or directory onto ``final``, which must not exist yet."""
    tmp = Path(file.tmp_path)
    if not os.path.lexists(tmp):
        msg = "the block created nothing at the temporary path, so nothing was published"
        raise FileNotFoundError(errno.ENOENT, msg, os.fspath(tmp))
    if os.path.lexists(final):
        msg = f"Destination exists: {final}"
        raise FileAlreadyExists(msg)
    if tmp.is_dir() and not tmp.is_symlink():
        _fsync_tree(tmp)
    else:
        fsync_file(tmp)
    if type(file).move_to_final_destination not in _RENAMING_PROVIDERS:
        file.move_to_final_destination()  # the provider's own publishing step, as its close() does
    elif tmp.is_dir() and not tmp.is_symlink():
        tmp.rename(final)  # checked above: no rename that refuses an existing directory is portable
    else:
        try:
            publish_without_replacing(tmp, final)
        except FileExistsError:
            msg = f"Destination exists: {final}"
            raise FileAlreadyExists(msg) from None
    try:
        fsync_dir(final.parent)
    except OSError as err:
        log.warning("%s is written, but syncing its directory failed: %s", final, err)


class BaseAtomicProviderLocalTarget(LocalTarget):
    """A :class:`~luigi.local_target.LocalTarget` whose writes all go through :attr:`atomic_provider`.

    ``open('w')`` (any format: text, :class:`luigi.format.Nop` for bytes, gzip, ...) writes through it,
    and :meth:`temporary_path` takes its temp path from it (and publishes through the provider's
    ``move_to_final_destination``, unless that is a plain rename, which would replace an output another
    writer made meanwhile), so a subclass changes how temp files are named and published by setting one
    class attribute. Parent folders that cannot be made raise at once (Luigi's ``makedirs`` ignores
    that, and the write then fails with a misleading "No such file or directory").
    """

    # Allow some composability of atomic handling: the only thing subclasses change.
    atomic_provider: type[AtomicLocalFile] = atomic_file

    def makedirs(self) -> None:
        """Create the target's parent folders; an OSError (a read-only disk) names the target."""
        parent = Path(os.path.normpath(self.path)).parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise type(err)(err.errno, err.strerror, self.path) from err

    def open(self, mode: str = "r") -> IO[Any]:
        """Open for reading (``'r'``) or for an atomic write (``'w'``); ``b``/``t`` are left to the format."""
        rwmode = mode.replace("b", "").replace("t", "")
        if rwmode == "w":
            self.makedirs()
            file = self.atomic_provider(self.path)
            writer: IO[Any] = self.format.pipe_writer(file)
            if not isinstance(file, suffix_preserving_atomic_file) or _exits_through(writer, file):
                return writer
            return _DiscardOnFailure(writer, file)  # type: ignore[return-value]  # an IO by delegation
        if rwmode == "r":
            return cast("IO[Any]", super().open(mode))
        msg = f"mode must be 'r' or 'w' (got: {mode!r})"
        raise ValueError(msg)

    @contextmanager
    def temporary_path(self) -> Iterator[str]:
        """Yield a temp path, not yet existing, for an external writer; it becomes this target on success.

        The parent folders are created first, and the temp name comes from :attr:`atomic_provider`. The
        block may create a file or a directory there. On success it is flushed to disk and moved onto the
        target; a block that created nothing raises FileNotFoundError, and an existing target raises
        :class:`luigi.target.FileAlreadyExists` (neither publishes anything). On any failure what the
        block left is removed at once, and the block's own exception propagates; an OSError about the
        temp path names the target instead.
        """
        self.makedirs()
        # A trailing slash (a directory output): the provider names a sibling of the folder, not a child.
        path = self.path.rstrip("/").rstrip("\\") or self.path
        file = _new_temp_name(self.atomic_provider, path)
        in_block = True
        try:
            yield file.tmp_path
            in_block = False
            _publish_temporary(file, Path(path))
        except BaseException as err:
            remove_quietly(Path(file.tmp_path))
            if isinstance(err, OSError):
                named = retarget_error(err, file.tmp_path, self.path, writing=not in_block)
                if named is not err:
                    raise named from err
            raise


class SuffixPreservingLocalTarget(BaseAtomicProviderLocalTarget):
    """A local target whose temp files keep the final name's suffixes (``.jpg``, ``.tar.gz``, ``.onnx``).

    Use it where the writer infers the format from the file name, e.g. ``image.save(tmp_path)`` inside
    ``with target.temporary_path() as tmp_path``.
    """

    atomic_provider = suffix_preserving_atomic_file
