"""All-or-nothing file writes: readers see the old state or the complete new file, never a partial one.

The temp file always sits beside the target. ``tempfile.gettempdir()`` would keep the target's directory
clean, but it is often another filesystem (a tmpfs ``/tmp``): there a rename fails (EXDEV) and a move
degrades to copy-then-delete, which a crash can interrupt halfway. Writing beside the target keeps the
publish step one atomic directory operation; the price is a hidden temp name in the target's folder while
the write runs (and left there if the process is killed outright, since nothing can run at SIGKILL).
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "fsync_dir", "fsync_file", "sibling_temp_path"]

log = logging.getLogger(__name__)

# Most filesystems cap one name at 255 bytes; the stem is cut so the random part still fits.
_NAME_MAX = 255
_WRITE_MODES = frozenset("wxbt")


def sibling_temp_path(path: str | os.PathLike[str]) -> Path:
    """Return a fresh, unused-looking name beside ``path`` that keeps all of its suffixes.

    ``data/archive.tar.gz`` gives ``data/.archive-<random>.tar.gz``: same directory (so a rename onto the
    target is atomic), leading dot (so globs such as ``*.tar.gz`` skip it), every suffix kept (so code that
    infers a format from the name sees the target's). The name is random; callers that need it to be
    theirs alone must still create it exclusively.
    """
    target = Path(path)
    if not target.name:
        msg = f"cannot make a temp name beside {os.fspath(path)!r}: it has no file name"
        raise ValueError(msg)
    suffixes = "".join(target.suffixes)
    stem = target.name[: len(target.name) - len(suffixes)] if suffixes else target.name
    token = secrets.token_hex(8)
    room = max(_NAME_MAX - len(f".-{token}{suffixes}".encode()), 0)
    stem = stem.encode()[:room].decode(errors="ignore")  # never split a multi-byte character
    return target.with_name(f".{stem}-{token}{suffixes}")


def _check_mode(mode: str) -> None:
    """Refuse anything but a plain text or binary write mode."""
    chars = set(mode)
    writes = sum(mode.count(c) for c in "wx")
    if not mode or not chars <= _WRITE_MODES or writes != 1 or len(mode) != len(chars) or chars >= {"b", "t"}:
        msg = (
            f"atomic_write only writes whole new files; mode must be 'w' or 'wb' (or 'x'/'xb'), got {mode!r}"
        )
        raise ValueError(msg)


def _reserve(target: Path) -> Path:
    """Create an empty temp file beside ``target``, exclusively, with umask-applied permissions."""
    while True:
        tmp = sibling_temp_path(target)
        try:
            # 0o666 & ~umask, like open(): mkstemp's 0600 would leave the published file private.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue  # a random collision: try another name rather than share one
        except FileNotFoundError:
            msg = f"cannot write {target}: directory {target.parent} does not exist"
            raise FileNotFoundError(msg) from None
        os.close(fd)
        return tmp


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a file's data to disk by name (the writer may be a library or another program)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


if os.name == "nt":

    def fsync_dir(directory: str | os.PathLike[str]) -> None:
        """Nothing to do: Windows cannot open a directory for fsync; NTFS journals the rename."""

    def _publish(tmp: Path, target: Path) -> None:
        """Move ``tmp`` to ``target``; Windows' rename already refuses an existing target."""
        tmp.rename(target)

else:

    def fsync_dir(directory: str | os.PathLike[str]) -> None:
        """Make the directory entry of a just-published (created or renamed) file durable."""
        fsync_file(directory)  # POSIX opens and fsyncs a directory like a file

    def _publish(tmp: Path, target: Path) -> None:
        """Move ``tmp`` to ``target`` without ever replacing an existing target.

        ``os.rename`` would silently clobber a file another writer published first; ``link`` fails with
        EEXIST instead, so of two racing writers exactly one wins. Filesystems without hard links fall back
        to check-then-rename, which is atomic for readers but can lose a race between two writers.
        """
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise FileExistsError(f"{target} was created by another writer meanwhile") from None
        except OSError as err:
            if err.errno not in {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}:
                raise
            log.warning("%s: no hard links here; publishing by rename (not race-safe)", target.parent)
            if os.path.lexists(target):
                raise FileExistsError(f"{target} already exists") from None
            tmp.rename(target)
            return
        tmp.unlink()


@contextmanager
def atomic_write(
    file: str | os.PathLike[str],
    mode: str = "w",
    as_file: bool = True,
    *,
    overwrite: bool = False,
    **kwargs: Any,
) -> Iterator[IO[Any] | str]:
    """Write ``file`` atomically: it appears complete when the block succeeds, and not at all otherwise.

    :param file: str or :class:`os.PathLike` target to write
    :param mode: ``'w'`` (text) or ``'wb'`` (binary); read, append and update modes raise ValueError
    :param as_file: if True, yield the open temp file; otherwise yield the temp file's path (str), for
        libraries that want to open the path themselves
    :param overwrite: replace an existing target (atomically) instead of raising FileExistsError
    :param kwargs: passed to :func:`open` (``encoding``, ``newline``, ...)
    :raises FileExistsError: if the target exists, before any work starts or when publishing
    :raises FileNotFoundError: if the target's directory does not exist

    The temp file lies beside the target and keeps every suffix (see :func:`sibling_temp_path`), and is
    new on every call. Its data is fsynced before it is published and the directory after. If the block
    raises anything (KeyboardInterrupt included), the temp file is removed, the target is left as it was,
    and the original exception propagates.

    Example::

        with atomic_write("hello.txt") as f:
            f.write("world!")
    """
    _check_mode(mode)
    target = Path(file)
    if not overwrite and os.path.lexists(target):
        raise FileExistsError(f"{target} already exists; remove it or write elsewhere")
    tmp = _reserve(target)
    try:
        if as_file:
            with open(tmp, mode.replace("x", "w"), **kwargs) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
        else:
            yield str(tmp)
            fsync_file(tmp)
        if overwrite:
            tmp.replace(target)
        else:
            _publish(tmp, target)
    except BaseException:
        with suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)
