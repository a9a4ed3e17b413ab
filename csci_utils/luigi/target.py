"""Local Luigi targets whose atomic writes keep the final name's suffixes on the temp file.

Luigi's :class:`~luigi.local_target.LocalTarget` writes to ``name.jpg-luigi-tmp-123`` and renames on
close, so a library that picks the file format from the extension (Pillow, pandas, onnx) cannot write
through it. :class:`SuffixPreservingLocalTarget` writes to a hidden sibling that keeps the suffixes
(``photo.tar.gz`` -> ``.photo-<random>.tar.gz``, see :func:`csci_utils.io.sibling_temp_path`), flushes it
to disk, and renames it into place. A write that raises removes its temp file at once, in every format
(gzip and bzip2 included), rather than when the garbage collector gets to it.

``temporary_path()`` keeps Luigi's own contract (:meth:`luigi.target.FileSystemTarget.temporary_path`): the
path it yields does not exist yet (so a directory output, or ``open(path, 'x')``, works); a block that
created nothing raises FileNotFoundError and publishes nothing; an existing output is never replaced
(:class:`luigi.target.FileAlreadyExists`); and, unlike Luigi's, a failed block's file or directory is
removed at once.
"""

from __future__ import annotations

import errno
import io
import logging
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

from luigi.format import OutputPipeProcessWrapper
from luigi.local_target import LocalTarget, atomic_file
from luigi.target import AtomicLocalFile, FileAlreadyExists

from csci_utils.io import fsync_dir, fsync_file, publish_without_replacing, remove_quietly, sibling_temp_path

__all__ = ["BaseAtomicProviderLocalTarget", "SuffixPreservingLocalTarget", "suffix_preserving_atomic_file"]

log = logging.getLogger(__name__)


class suffix_preserving_atomic_file(atomic_file):
    """An atomic local file whose temp path sits beside ``path`` and keeps its suffixes.

    The temp name is new on every instance. Closing publishes: data fsynced, renamed onto ``path`` (replacing
    it, as :class:`~luigi.local_target.LocalTarget` does), directory fsynced. Leaving a ``with`` block by an
    exception discards the temp file instead, and the original exception propagates.
    """

    @staticmethod
    def temp_path_for(path: str) -> str:
        """Return a fresh hidden name beside ``path`` with its suffixes (also used by ``temporary_path``)."""
        return os.fspath(sibling_temp_path(path))

    def generate_tmp_path(self, path: str) -> str:
        """Return a fresh hidden name beside ``path`` with the same suffixes."""
        return self.temp_path_for(path)

    def move_to_final_destination(self) -> None:
        """Flush the finished temp file to disk and rename it onto the final path."""
        final = Path(self.path)
        fsync_file(self.tmp_path)
        Path(self.tmp_path).replace(final)
        fsync_dir(final.parent)

    def discard(self) -> None:
        """Close without publishing and remove the temp file (idempotent)."""
        if not self.closed:
            # BufferedWriter.close, not ours: ours would publish the partial file.
            io.BufferedWriter.close(self)
        Path(self.tmp_path).unlink(missing_ok=True)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Publish if the block succeeded; otherwise discard the temp file and let the exception propagate."""
        if exc_type is None:
            self.close()
        else:
            self.discard()


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
        """Let the writer finish or abort, then discard the temp file if anything failed."""
        failed = exc_type is not None
        try:
            self._writer.__exit__(exc_type, exc, traceback)
        except BaseException:
            failed = True
            raise
        finally:
            if failed:
                self._file.discard()


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


def _luigi_temp_path_for(path: str) -> str:
    """Return Luigi's own ``temporary_path`` name for ``path`` (a trailing slash stays at the end)."""
    slashless = path.rstrip("/").rstrip("\\")
    slash = path[len(slashless) :]
    return f"{slashless}-luigi-tmp-{random.randrange(10_000_000_000):010}{slash}"


def _fsync_tree(directory: Path) -> None:
    """Flush every file of a finished directory output, and the directories, to disk."""
    for root, _dirs, files in os.walk(directory):
        for name in files:
            fsync_file(Path(root) / name)
        fsync_dir(root)


def _publish_temporary(tmp: Path, final: Path) -> None:
    """Move a finished temp file or directory onto ``final``, which must not exist yet."""
    if not os.path.lexists(tmp):
        msg = "the block created nothing at the temporary path, so nothing was published"
        raise FileNotFoundError(errno.ENOENT, msg, os.fspath(tmp))
    if os.path.lexists(final):
        msg = f"Destination exists: {final}"
        raise FileAlreadyExists(msg)
    if tmp.is_dir() and not tmp.is_symlink():
        _fsync_tree(tmp)
        tmp.rename(final)  # checked above: no rename that refuses an existing directory is portable
    else:
        fsync_file(tmp)
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

    ``open('w')`` (any format: text, :class:`luigi.format.Nop` for bytes, gzip, ...) writes through it, and
    :meth:`temporary_path` names its temp path by the provider's ``temp_path_for`` (Luigi's own name
    when the provider has none), so a subclass changes how temp files are named and published by setting
    one class attribute.
    """

    # Allow some composability of atomic handling: the only thing subclasses change.
    atomic_provider: type[AtomicLocalFile] = atomic_file

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

        The parent folders are created first. The block may create a file or a directory there. On
        success it is flushed to disk and moved onto the target; a block that created nothing raises
        FileNotFoundError, and an existing target raises :class:`luigi.target.FileAlreadyExists`
        (neither publishes anything). On any failure what the block left is removed at once.
        """
        self.makedirs()
        naming = getattr(self.atomic_provider, "temp_path_for", _luigi_temp_path_for)
        tmp_path = naming(self.path)
        tmp = Path(tmp_path)
        try:
            yield tmp_path
            _publish_temporary(tmp, Path(self.path))
        except BaseException:
            remove_quietly(tmp)
            raise


class SuffixPreservingLocalTarget(BaseAtomicProviderLocalTarget):
    """A local target whose temp files keep the final name's suffixes (``.jpg``, ``.tar.gz``, ``.onnx``).

    Use it where the writer infers the format from the file name, e.g. ``image.save(tmp_path)`` inside
    ``with target.temporary_path() as tmp_path``.
    """

    atomic_provider = suffix_preserving_atomic_file
