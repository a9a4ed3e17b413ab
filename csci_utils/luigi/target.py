"""Local Luigi targets whose atomic writes keep the final name's suffixes on the temp file.

Luigi's :class:`~luigi.local_target.LocalTarget` writes to ``name.jpg-luigi-tmp-123`` and renames on
close, so a library that picks the file format from the extension (Pillow, pandas, onnx) cannot write
through it. :class:`SuffixPreservingLocalTarget` writes to a hidden sibling that keeps every suffix
(``photo.tar.gz`` -> ``.photo-<random>.tar.gz``, see :func:`csci_utils.io.sibling_temp_path`), flushes it
to disk, and renames it into place; a write that raises removes its temp file at once rather than when the
garbage collector gets to it.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from luigi.local_target import LocalTarget, atomic_file
from luigi.target import AtomicLocalFile

from csci_utils.io import fsync_dir, fsync_file, sibling_temp_path

__all__ = ["BaseAtomicProviderLocalTarget", "SuffixPreservingLocalTarget", "suffix_preserving_atomic_file"]


class suffix_preserving_atomic_file(atomic_file):
    """An atomic local file whose temp path sits beside ``path`` and keeps all of its suffixes.

    The temp name is new on every instance. Closing publishes: data fsynced, renamed onto ``path`` (replacing
    it, as :class:`~luigi.local_target.LocalTarget` does), directory fsynced. Leaving a ``with`` block by an
    exception discards the temp file instead, and the original exception propagates.
    """

    def generate_tmp_path(self, path: str) -> str:
        """Return a fresh hidden name beside ``path`` with the same suffixes."""
        return os.fspath(sibling_temp_path(path))

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


class BaseAtomicProviderLocalTarget(LocalTarget):
    """A :class:`~luigi.local_target.LocalTarget` whose writes all go through :attr:`atomic_provider`.

    Both ``open('w')`` (any format: text, :class:`luigi.format.Nop` for bytes, gzip, ...) and
    :meth:`temporary_path` use it, so a subclass changes how temp files are named and published by
    setting one class attribute.
    """

    # Allow some composability of atomic handling: the only thing subclasses change.
    atomic_provider: type[AtomicLocalFile] = atomic_file

    def open(self, mode: str = "r") -> IO[Any]:
        """Open for reading (``'r'``) or for an atomic write (``'w'``); ``b``/``t`` are left to the format."""
        rwmode = mode.replace("b", "").replace("t", "")
        if rwmode == "w":
            self.makedirs()
            return self.format.pipe_writer(self.atomic_provider(self.path))
        if rwmode == "r":
            return super().open(mode)
        msg = f"mode must be 'r' or 'w' (got: {mode!r})"
        raise ValueError(msg)

    @contextmanager
    def temporary_path(self) -> Iterator[str]:
        """Yield a temp path for an external writer; it becomes this target if the block succeeds.

        The parent folders are created first. The temp path comes from :attr:`atomic_provider`, so it
        follows the same naming and publishing rules as ``open('w')``.
        """
        self.makedirs()
        with self.atomic_provider(self.path) as af:
            yield af.tmp_path


class SuffixPreservingLocalTarget(BaseAtomicProviderLocalTarget):
    """A local target whose temp files keep the final name's suffixes (``.jpg``, ``.tar.gz``, ``.onnx``).

    Use it where the writer infers the format from the file name, e.g. ``image.save(tmp_path)`` inside
    ``with target.temporary_path() as tmp_path``.
    """

    atomic_provider = suffix_preserving_atomic_file
