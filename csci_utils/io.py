"""All-or-nothing file writes: readers see the old state or the complete new file, never a partial one.

The temp file always sits beside the target. ``tempfile.gettempdir()`` would keep the target's directory
clean, but it is often another filesystem (a tmpfs ``/tmp``): there a rename fails (EXDEV) and a move
degrades to copy-then-delete, which a crash can interrupt halfway. Writing beside the target keeps the
publish step one atomic directory operation; the price is a hidden temp name in the target's folder while
the write runs, left there if the process is killed outright (nothing runs at SIGKILL).
:func:`remove_stale_temp_files` (or the command ``csci-io clean DIR --older-than 1h``) removes those.

The temp-name rule (:func:`sibling_temp_path`): ``<dir>/.<stem>-<16 hex digits><kept suffixes>``. The kept
suffixes are the target's trailing suffixes, taken from the right while each is at most 32 bytes and
together at most 96 bytes; the rest of the name is the stem, cut at a character boundary so the temp name
fits in 255 bytes. ``archive.tar.gz`` keeps ``.tar.gz``; ``v1.<240 a>.txt`` keeps ``.txt``.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, cast

__all__ = [
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

log = logging.getLogger(__name__)

# Most filesystems cap one name at 255 bytes.
_NAME_MAX = 255
_TOKEN_HEX = 16
_MAX_SUFFIX_BYTES = 32
_MAX_SUFFIXES_BYTES = 96
_WRITE_MODES = frozenset("wxbt")
# What sibling_temp_path makes: leading dot, any stem, "-", the token, then dot-led suffixes (which may be
# a lone dot: pathlib gives "0..0" the suffixes "." and ".0").
_TEMP_NAME = re.compile(rf"\..*-[0-9a-f]{{{_TOKEN_HEX}}}(?:\.[^.]*)*", re.DOTALL)
# An OSError with no file name and one of these, raised while a temp file is written, says the data did
# not fit where it was going, so it is about that file even when the caller's own code raised it.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

Pathish = str | bytes | os.PathLike[str] | os.PathLike[bytes]


def _size(text: str) -> int:
    """Return the length of ``text`` in bytes as the filesystem sees it (undecodable bytes included)."""
    return len(os.fsencode(text))


def _cut(text: str, room: int) -> str:
    """Return the longest prefix of ``text`` that fits in ``room`` bytes, never splitting a character."""
    if _size(text) <= room:
        return text
    kept: list[str] = []
    for char in text:
        room -= _size(char)
        if room < 0:
            break
        kept.append(char)
    return "".join(kept)


def _split_suffixes(name: str) -> tuple[str, str]:
    """Split ``name`` into (stem, kept suffixes) by the module's temp-name rule."""
    suffixes = Path(name).suffixes
    kept = ""
    for suffix in reversed(suffixes):
        if _size(suffix) > _MAX_SUFFIX_BYTES or _size(suffix + kept) > _MAX_SUFFIXES_BYTES:
            break
        kept = suffix + kept
    return name[: len(name) - len(kept)], kept


def _new_token() -> str:
    """Return a fresh random hex token for a temp name."""
    # os.urandom is what secrets.token_hex reads; importing secrets pulls in hmac and OpenSSL, a few ms of
    # every short command's start-up.
    return os.urandom(_TOKEN_HEX // 2).hex()


def sibling_temp_path(path: Pathish) -> Path:
    """Return a fresh, unused-looking name beside ``path`` that keeps its suffixes.

    ``data/archive.tar.gz`` gives ``data/.archive-<random>.tar.gz``: same directory (so a rename onto the
    target is atomic), leading dot (so globs such as ``*.tar.gz`` skip it), suffixes kept (so code that
    infers a format from the name sees the target's; see the module docstring for which are kept when the
    name is long). Names with undecodable bytes keep them. The name is random; callers that need it to be
    theirs alone must still create it exclusively.
    """
    target = Path(os.fsdecode(path))
    if not target.name or target.name in {".", ".."}:
        msg = f"cannot make a temp name beside {os.fsdecode(path)!r}: it has no file name"
        raise ValueError(msg)
    stem, suffixes = _split_suffixes(target.name)
    token = _new_token()
    room = _NAME_MAX - _size(f".-{token}{suffixes}")
    return target.with_name(f".{_cut(stem, room)}-{token}{suffixes}")


def is_temp_name(name: str) -> bool:
    """Tell whether a file name is one that :func:`sibling_temp_path` produces."""
    return _TEMP_NAME.fullmatch(name) is not None


def _moved(name: object, tmp: str, target: str) -> str | None:
    """Return ``name`` with the temp path ``tmp`` at its start made ``target``; None if it is elsewhere."""
    if not isinstance(name, str | bytes | os.PathLike):
        return None
    text = os.fsdecode(name)
    if text == tmp:
        return target
    below = [sep for sep in (os.sep, os.altsep) if sep and text.startswith(tmp + sep)]
    return target + text[len(tmp) :] if below else None


def retarget_error(err: OSError, tmp: Pathish, target: Pathish, *, writing: bool = False) -> OSError:
    """Return ``err``, raised about the temp file ``tmp``, naming ``target`` (the user's file) instead.

    The errno and message stay (``[Errno 30] Read-only file system: 'out/o.jpg'``, not the hidden temp
    name). A file name that is ``tmp``, or a path below it (a directory output), is rewritten under
    ``target``. An error with no file name gets ``target`` when ``writing`` (it came from writing,
    flushing or publishing the temp file itself) or when it says the data did not fit (ENOSPC, EDQUOT,
    EFBIG); anything else is returned untouched. ``err`` itself is changed, so its type and traceback
    stay, except when it names two paths (a failed rename) or its file name cannot be set (PyAV's):
    then a new OSError (of the subclass its errno maps to, as ``open()``'s) is returned, to be raised
    ``from err``.
    """
    tmp_text, target_text = os.fsdecode(tmp), os.fsdecode(target)
    name = _moved(err.filename, tmp_text, target_text)
    if name is None:
        unnamed = err.filename is None and err.errno is not None and err.strerror is not None
        if not (unnamed and (writing or err.errno in _NO_ROOM)):
            return err
        name = target_text
    if err.filename2 is None:
        try:
            err.filename = name
        except AttributeError:  # a subclass whose filename is read-only (PyAV's errors)
            return OSError(err.errno, err.strerror, name)
        return err
    other = _moved(err.filename2, tmp_text, target_text) or os.fsdecode(err.filename2)
    return OSError(err.errno, err.strerror, name, None, None if other == name else other)


def _check_mode(mode: str) -> None:
    """Refuse anything but a plain text or binary write mode."""
    chars = set(mode)
    writes = sum(mode.count(c) for c in "wx")
    if not mode or not chars <= _WRITE_MODES or writes != 1 or len(mode) != len(chars) or chars >= {"b", "t"}:
        msg = (
            f"atomic_write only writes whole new files; mode must be 'w' or 'wb' (or 'x'/'xb'), got {mode!r}"
        )
        raise ValueError(msg)


def _check_target(file: Pathish, target: Path, *, overwrite: bool) -> None:
    """Raise what ``open(file, 'w'/'x')`` would, with errno and filename set, before any work starts."""
    text = os.fsdecode(file)
    slash = text.endswith(("/", os.sep)) or (os.altsep and text.endswith(os.altsep))
    if slash or (overwrite and target.is_dir()):
        msg = "is a directory; atomic_write writes files"
        raise IsADirectoryError(errno.EISDIR, msg, text)
    if not overwrite and os.path.lexists(target):  # a directory too: open(path, "x") says EEXIST
        msg = "already exists; remove it or write elsewhere"
        raise FileExistsError(errno.EEXIST, msg, text)
    if not target.parent.is_dir():
        if os.path.lexists(target.parent):  # a file where the folder should be: open() says ENOTDIR
            msg = f"cannot write here: {target.parent} is not a directory"
            raise NotADirectoryError(errno.ENOTDIR, msg, text)
        msg = f"cannot write here: directory {target.parent} does not exist"
        raise FileNotFoundError(errno.ENOENT, msg, text)


def _reserve(target: Path) -> tuple[Path, int]:
    """Create an empty temp file beside ``target`` exclusively; return its path and open descriptor.

    The descriptor is kept and used for writing, so a umask that leaves the owner no write bit (0o222)
    still works, as it does for ``open()``. Permissions are 0o666 & ~umask, like ``open()``: mkstemp's 0600
    would leave the published file private.
    """
    while True:
        tmp = sibling_temp_path(target)
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue  # a random collision: try another name rather than share one
        except FileNotFoundError as err:
            msg = f"cannot write here: directory {target.parent} does not exist"
            raise FileNotFoundError(errno.ENOENT, msg, os.fspath(target)) from err
        except OSError as err:
            raise retarget_error(err, tmp, target, writing=True) from None


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush a file's data to disk by name (the writer may be a library or another program)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_tree(path: Path) -> None:
    import shutil  # here, not at the top: it imports bz2 and lzma, which a short command never needs

    shutil.rmtree(path)


def remove_quietly(path: Path) -> None:
    """Remove a temp file or directory tree, best effort: a failure (of any kind) is logged, never raised.

    A path that does not exist is left alone without asking the filesystem to remove it: on a read-only
    one that would fail (EROFS), and the warning would hide the error that got us here.
    """
    try:
        if not os.path.lexists(path):
            return
        if path.is_dir() and not path.is_symlink():
            _remove_tree(path)
        else:
            path.unlink(missing_ok=True)
    except Exception as err:  # clean-up runs while another error is on its way out
        log.warning("could not remove temp %s: %s", path, err)


if os.name == "nt":

    def fsync_dir(directory: str | os.PathLike[str]) -> None:
        """Nothing to do: Windows cannot open a directory for fsync; NTFS journals the rename."""

    def publish_without_replacing(tmp: Path, target: Path) -> None:
        """Move ``tmp`` to ``target``; Windows' rename already refuses an existing target."""
        tmp.rename(target)

else:

    def fsync_dir(directory: str | os.PathLike[str]) -> None:
        """Make the directory entry of a just-published (created or renamed) file durable."""
        fsync_file(directory)  # POSIX opens and fsyncs a directory like a file

    def publish_without_replacing(tmp: Path, target: Path) -> None:
        """Move the file ``tmp`` to ``target``, raising FileExistsError rather than replace a target.

        ``os.rename`` would silently clobber a file another writer published first; ``link`` fails with
        EEXIST instead, so of two racing writers exactly one wins. Filesystems without hard links fall back
        to check-then-rename, which is atomic for readers but can lose a race between two writers. Once
        the target is published, failing to remove the temp name is logged, not raised.
        """
        try:
            os.link(tmp, target)
        except FileExistsError:
            msg = "was created by another writer meanwhile"
            raise FileExistsError(errno.EEXIST, msg, os.fspath(target)) from None
        except OSError as err:
            if err.errno not in {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK}:
                raise
            log.warning("%s: no hard links here; publishing by rename (not race-safe)", target.parent)
            if os.path.lexists(target):
                raise FileExistsError(errno.EEXIST, "already exists", os.fspath(target)) from None
            tmp.rename(target)
            return
        remove_quietly(tmp)


def _after_publish(target: Path) -> None:
    """Make the publish durable; an OSError here is logged, since the target is already complete."""
    try:
        fsync_dir(target.parent)
    except OSError as err:
        log.warning("%s is written, but syncing its directory failed: %s", target, err)


def _existing_mode(target: Path) -> int | None:
    """Return the rwx bits of the regular file ``target`` replaces, or None (setuid/setgid are not kept)."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return None
    return info.st_mode & 0o777 if stat.S_ISREG(info.st_mode) else None


def _close_quietly(handle: IO[Any], tmp: Path) -> None:
    """Close a file on the failure path; an error in closing is logged, not raised over the first one.

    Only at debug level: the file is being discarded, so its unflushed data (say, on a full disk) is lost
    on purpose.
    """
    try:
        handle.close()
    except Exception as err:  # a detached or broken wrapper must not hide the first error
        log.debug("closing the temp file %s failed too: %s", tmp, err)


@contextmanager
def _written_temp(
    target: Path, mode: str, as_file: bool, kwargs: dict[str, Any]
) -> Iterator[tuple[IO[Any] | str, Path]]:
    """Yield (what the block gets, temp path); on a clean exit the temp file holds the fsynced data."""
    if not as_file:
        tmp = sibling_temp_path(target)
        yield os.fspath(tmp), tmp
        if not os.path.lexists(tmp):
            msg = "the block created nothing at the temp path, so nothing was published"
            raise FileNotFoundError(errno.ENOENT, msg, os.fspath(tmp))
        if tmp.is_symlink() or not tmp.is_file():
            msg = "the block made something other than a regular file at the temp path"
            raise IsADirectoryError(errno.EISDIR, msg, os.fspath(tmp))
        fsync_file(tmp)
        return
    tmp, fd = _reserve(target)
    try:
        # Write through the descriptor that created the file, never by reopening its name: a umask
        # without the owner's write bit makes the new file read-only, as open() would allow. open() gets
        # a duplicate of its own, since whether it closes what its opener gave when it then refuses a
        # keyword (buffering=0 in text mode, an unknown encoding) depends on where it refuses; ours is
        # closed here, once.
        handle = open(  # noqa: SIM115
            tmp, mode.replace("x", "w"), opener=lambda _path, _flags: os.dup(fd), **kwargs
        )
    except BaseException:
        remove_quietly(tmp)
        raise
    finally:
        os.close(fd)
    try:
        yield handle, tmp
        handle.flush()
        os.fsync(handle.fileno())
    except BaseException:
        _close_quietly(handle, tmp)
        raise
    handle.close()


@contextmanager
def atomic_write(
    file: Pathish,
    mode: str = "w",
    as_file: bool = True,
    *,
    overwrite: bool = False,
    **kwargs: Any,
) -> Iterator[IO[Any] | str]:
    """Write ``file`` atomically: it appears complete when the block succeeds, and not at all otherwise.

    :param file: str, bytes or :class:`os.PathLike` target to write (any name ``open(file, 'x')`` takes)
    :param mode: ``'w'`` (text) or ``'wb'`` (binary); read, append and update modes raise ValueError
    :param as_file: if True, yield the open temp file; otherwise yield the temp file's path (str), which
        does not exist yet, for libraries that create the file themselves (``'x'`` mode included); a
        block that creates nothing there publishes nothing and raises FileNotFoundError
    :param overwrite: replace an existing target (atomically) instead of raising FileExistsError; the new
        file keeps the replaced file's permission bits (not its owner); a symlink is replaced by the file,
        the file it pointed to is left alone
    :param kwargs: passed to :func:`open` (``encoding``, ``newline``, ...)
    :raises FileExistsError: the target (or a symlink of that name) exists, before any work starts or
        when publishing; ``errno`` and ``filename`` are set, as ``open()`` sets them
    :raises FileNotFoundError: the target's directory does not exist
    :raises IsADirectoryError: the target ends in a slash, or is a directory and ``overwrite`` is set
        (without it an existing directory is FileExistsError, as for ``open(file, 'x')``)
    :raises OSError: creating, writing or publishing the temp file failed (a read-only folder, a full
        disk): the error names ``file``, not the temp name, and keeps its errno (see
        :func:`retarget_error`)

    The temp file lies beside the target (see :func:`sibling_temp_path`), is new on every call, and its
    data is fsynced before it is published and the directory after. If the block raises anything
    (KeyboardInterrupt included), the temp file is removed, the target is left as it was, and the block's
    own exception propagates: clean-up is best effort, and its failures (of any type) are logged. Only
    an OSError about the temp file is changed, to name ``file`` instead.

    Once the target is published, nothing reports a failure: an OSError while removing the temp name or
    syncing the directory is logged as a warning. A KeyboardInterrupt (or any other non-OSError) arriving
    after the publish still propagates, because it is the user's, but the target is then complete and the
    temp name is removed on the way out.

    Example::

        with atomic_write("hello.txt") as f:
            f.write("world!")
    """
    _check_mode(mode)
    target = Path(os.fsdecode(file))
    _check_target(file, target, overwrite=overwrite)
    keep_mode = _existing_mode(target) if overwrite else None
    published = False
    in_block = False
    tmp: Path | None = None
    try:
        with _written_temp(target, mode, as_file, kwargs) as (given, tmp):
            in_block = True
            yield given
            in_block = False
        if keep_mode is not None:
            tmp.chmod(keep_mode)
        if overwrite:
            tmp.replace(target)
        else:
            publish_without_replacing(tmp, target)
        published = True
        _after_publish(target)
    except BaseException as err:
        if tmp is not None and not published:
            remove_quietly(tmp)
        if isinstance(err, OSError) and tmp is not None:
            named = retarget_error(err, tmp, file, writing=not in_block)
            if named is not err:
                raise named from err
        raise
    finally:
        if published and tmp is not None and os.path.lexists(tmp):
            remove_quietly(tmp)  # a second link left by an interrupted publish_without_replacing


def _newest_mtime(path: Path) -> float:
    """Return the newest modification time in a file or directory tree, without following symlinks."""
    newest = os.lstat(path).st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                with suppress(FileNotFoundError):
                    newest = max(newest, (Path(root) / name).lstat().st_mtime)
    return newest


def remove_stale_temp_files(
    directory: str | os.PathLike[str], *, older_than: float, recursive: bool = True
) -> list[Path]:
    """Remove the temp files (and temp directories) that killed writers left in ``directory``.

    Only names :func:`sibling_temp_path` produces (:func:`is_temp_name`) whose newest modification is more
    than ``older_than`` seconds old are removed; everything else is left alone. Symlinks are never
    followed or removed, so nothing outside ``directory`` is touched. With ``recursive`` the folders below
    are searched too. Returns what was removed.

    :raises ValueError: if ``older_than`` is negative
    :raises FileNotFoundError: if ``directory`` does not exist
    :raises NotADirectoryError: if it is not a directory
    """
    if older_than < 0:
        msg = f"older_than must be zero or more seconds, got {older_than}"
        raise ValueError(msg)
    root = Path(directory)
    if not root.exists():
        raise FileNotFoundError(errno.ENOENT, "no such directory", os.fspath(root))
    if not root.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", os.fspath(root))
    cutoff = time.time() - older_than
    removed: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            listing = sorted(entries, key=lambda e: e.name)
        for entry in listing:
            path = Path(entry.path)
            if entry.is_symlink():
                continue
            if is_temp_name(entry.name):
                with suppress(FileNotFoundError):  # its writer may finish meanwhile
                    if _newest_mtime(path) < cutoff:
                        _remove_tree(path) if entry.is_dir() else path.unlink()
                        removed.append(path)
                continue
            if recursive and entry.is_dir():
                pending.append(path)
    return removed


def atomic_write_bytes(
    file: Pathish, data: bytes | bytearray | memoryview, *, overwrite: bool = False
) -> Path:
    """Write ``data`` to ``file`` atomically and check that every byte reached the file.

    Encode into memory, then write here: libraries that write through a raw descriptor (Pillow's encoders
    among them) ignore a short ``write()``, which is what a disk that fills up mid-write returns before
    ENOSPC, and leave a smaller file with no error. Here a short write is an OSError (ENOSPC) that names
    ``file``, and nothing is published.

    :param overwrite: replace an existing file (atomically) instead of raising FileExistsError
    :raises OSError: the data did not all reach the disk (the target is left as it was)
    """
    target = Path(os.fsdecode(file))
    expected = memoryview(data).nbytes
    with atomic_write(file, "wb", overwrite=overwrite) as opened:
        handle = cast("IO[bytes]", opened)  # as_file=True yields the open file
        handle.write(data)  # a buffered file retries a short write, so a full disk raises here
        handle.flush()
        written = os.fstat(handle.fileno()).st_size
        if written != expected:
            msg = f"only {written} of {expected} bytes reached the disk (is it full?)"
            raise OSError(errno.ENOSPC, msg, os.fspath(target))
    return target
