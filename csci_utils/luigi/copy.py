"""The copy engine: any file target to any file target, streamed, all or nothing, verified.

One writer per destination kind: a local file is written beside its final name and renamed; an S3 object
appears only when its PUT or multipart upload completes, and a failed multipart upload is aborted (the
abort retried while the server is away, leftovers of earlier attempts at the key aborted on the next
upload of it); any other luigi target is written through its own atomic ``open('w')``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any

from luigi.local_target import LocalTarget
from luigi.target import FileSystemTarget, Target

from csci_utils.luigi.checksums import check_download, is_plain_md5
from csci_utils.luigi.progress import ProgressCallback, progress
from csci_utils.luigi.s3.client import boto_client, s3_head, target_settings
from csci_utils.luigi.s3.errors import split_s3_url, translate_s3_errors
from csci_utils.luigi.s3.settings import DEFAULT_PART_SIZE, S3Settings
from csci_utils.luigi.s3.uploads import abort_uploads, open_uploads
from csci_utils.luigi.target import suffix_preserving_atomic_file
from csci_utils.luigi.versions import md5_of_file

__all__ = ["copy_target"]

log = logging.getLogger(__name__)

MiB = 1024 * 1024
_MAX_CONCURRENCY = 10
_MAX_IO_QUEUE = 16


def _is_s3(target: Target) -> bool:
    """Tell whether a target is an S3 object, without importing the optional S3 support to find out."""
    s3 = sys.modules.get("luigi.contrib.s3")  # an S3Target exists only if its module was imported
    return s3 is not None and isinstance(target, s3.S3Target)


def _transfer_config(part_size: int) -> Any:
    """Return boto3's managed-transfer settings: multipart above one part, parts in parallel."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=part_size,
        multipart_chunksize=part_size,
        max_concurrency=_MAX_CONCURRENCY,
        # Downloaded chunks (256 KiB each) waiting for the disk: 16 caps that buffer at 4 MiB instead of
        # boto3's 25 MiB, so peak memory does not depend on how the disk keeps up.
        max_io_queue=_MAX_IO_QUEUE,
        use_threads=True,
    )


class _CountingReader:
    """A read-only stream that counts and hashes what passes through it (for uploads of streams)."""

    def __init__(self, raw: IO[bytes], callback: ProgressCallback | None) -> None:
        self._raw = raw
        self._callback = callback
        self.count = 0
        self.md5 = hashlib.md5(usedforsecurity=False)

    def read(self, size: int = -1) -> bytes:
        """Read like the wrapped stream; refuse text."""
        data = self._raw.read(size)
        if isinstance(data, str):
            msg = "copy_target streams bytes: give the source target format=luigi.format.Nop"
            raise TypeError(msg)
        self.count += len(data)
        self.md5.update(data)
        if self._callback is not None:
            self._callback(len(data))
        return data


def _size_mismatch(what: str, expected: int, actual: int) -> OSError:
    """Return the error for a copy whose size does not match its source."""
    return OSError(
        f"copy to {what} is incomplete: expected {expected} bytes, got {actual}; nothing was published"
    )


def _name(target: FileSystemTarget) -> str:
    """Return the file name a progress bar shows (the whole path would crowd out the figures)."""
    return posixpath.basename(str(target.path).rstrip("/")) or str(target.path)


def _local_size(source: FileSystemTarget) -> int | None:
    """Return a local source's size, or None when the target kind cannot say cheaply."""
    return Path(source.path).stat().st_size if isinstance(source, LocalTarget) else None


@contextmanager
def _open_source(source: FileSystemTarget) -> Iterator[IO[bytes]]:
    """Open a source for reading bytes, whatever its luigi format (local files bypass the format)."""
    if isinstance(source, LocalTarget):
        with open(source.path, "rb") as f:
            yield f
        return
    with source.open("r") as f:
        yield f


def _stream(
    source: FileSystemTarget,
    destination: FileSystemTarget,
    open_destination: Callable[[], AbstractContextManager[IO[bytes]]],
    part_size: int,
    show: bool | None,
) -> int:
    """Stream the source's bytes into ``open_destination()``; return the size, checked against a local source.

    The destination is opened only once the source is open, so a source that cannot be read leaves no
    temp file behind.
    """
    expected = _local_size(source)
    with (
        progress(f"copy {_name(source)}", expected, show) as callback,
        _open_source(source) as raw,
        open_destination() as out,
    ):
        reader = _CountingReader(raw, callback)
        shutil.copyfileobj(reader, out, part_size)
        if expected is not None and reader.count != expected:
            raise _size_mismatch(destination.path, expected, reader.count)
    return reader.count


def _to_local(source: FileSystemTarget, destination: LocalTarget, part_size: int, show: bool | None) -> int:
    """Copy into a local file through a hidden sibling temp file that is renamed into place on success."""
    destination.makedirs()
    if _is_s3(source):
        size, etag = s3_head(source)
        bucket, key = split_s3_url(source.path)
        with (
            progress(f"download {_name(source)}", size, show) as callback,
            translate_s3_errors(source.path, target_settings(source)),
            suffix_preserving_atomic_file(destination.path) as out,
        ):
            boto_client(source).download_fileobj(
                bucket, key, out, Config=_transfer_config(part_size), Callback=callback
            )
            out.flush()
            written = os.fstat(out.fileno()).st_size
            if written != size:
                raise _size_mismatch(destination.path, size, written)
            check_download(source, out.tmp_path, size, etag)
        return written
    return _stream(
        source, destination, lambda: suffix_preserving_atomic_file(destination.path), part_size, show
    )


def _upload(
    source: FileSystemTarget, destination: FileSystemTarget, part_size: int, show: bool | None
) -> int:
    """Send the source's bytes to an S3 key, then check what S3 kept; return the size."""
    bucket, key = split_s3_url(destination.path)
    client = boto_client(destination)
    config = _transfer_config(part_size)
    md5: str | None = None
    if _is_s3(source):
        size, _ = s3_head(source)
        src_bucket, src_key = split_s3_url(source.path)
        with progress(f"copy {_name(source)}", size, show) as callback:
            client.copy({"Bucket": src_bucket, "Key": src_key}, bucket, key, Config=config, Callback=callback)
    elif isinstance(source, LocalTarget):
        size = Path(source.path).stat().st_size
        with progress(f"upload {_name(source)}", size, show) as callback:
            client.upload_file(source.path, bucket, key, Config=config, Callback=callback)
        if size < part_size:  # one PUT: S3's ETag is the MD5, cheap to check on a small file
            md5 = md5_of_file(source.path)
    else:
        with progress(f"upload {_name(source)}", None, show) as callback, _open_source(source) as raw:
            reader = _CountingReader(raw, callback)
            client.upload_fileobj(reader, bucket, key, Config=config)
        size, md5 = reader.count, reader.md5.hexdigest()
    stored, etag = s3_head(destination)
    if stored != size or (md5 is not None and is_plain_md5(etag) and etag != md5):
        client.delete_object(Bucket=bucket, Key=key)
        msg = f"{destination.path}: S3 kept {stored} bytes, not the {size} sent (or MD5 differs); removed"
        raise OSError(msg)
    return size


def _to_s3(source: FileSystemTarget, destination: FileSystemTarget, part_size: int, show: bool | None) -> int:
    """Copy into an S3 object, leaving no multipart upload of the key open, whatever happens."""
    bucket, key = split_s3_url(destination.path)
    client = boto_client(destination)
    settings = target_settings(destination) or S3Settings.resolve()
    with translate_s3_errors(destination.path, settings):
        leftovers = frozenset(u.upload_id for u in open_uploads(client, bucket, key, exact=True))
    try:
        with translate_s3_errors(destination.path, settings):
            size = _upload(source, destination, part_size, show)
    except KeyboardInterrupt:
        abort_uploads(client, bucket, key, settings=settings)  # one try: the user is waiting
        raise
    except Exception:
        abort_uploads(client, bucket, key, settings=settings, retry_for=settings.abort_retry_seconds)
        raise
    if leftovers:
        aborted = abort_uploads(client, bucket, key, settings=settings, only=leftovers)
        log.info("%s: aborted %d unfinished upload(s) left by earlier attempts", destination.path, aborted)
    return size


def _to_other(
    source: FileSystemTarget, destination: FileSystemTarget, part_size: int, show: bool | None
) -> int:
    """Copy into any other luigi target through its own atomic ``open('w')``."""
    return _stream(source, destination, lambda: destination.open("w"), part_size, show)


def copy_target(
    source: Target, destination: Target, *, part_size: int = DEFAULT_PART_SIZE, progress: bool | None = None
) -> int:
    """Copy a file target's bytes into another file target, all or nothing; return the bytes copied.

    Works for any pair of local and S3 targets (and other luigi file targets through ``open``). The copy
    streams in ``part_size`` pieces, so memory does not grow with the file; uploads of more than one part
    use S3 multipart, which is aborted on failure (see the module docstring). The destination appears only
    complete. The size is always checked; downloads are also checked against the object's ETag (its MD5,
    or the MD5 of its parts' MD5s for a multipart object), single-part uploads against the MD5.

    :param progress: show bytes, rate and ETA on stderr; default only when stderr is a terminal
    :raises FileNotFoundError: the source (or its bucket) does not exist
    :raises PermissionError: missing or refused S3 credentials (the message names the settings)
    :raises ConnectionError: the S3 endpoint cannot be reached, went away or did not answer in time
    :raises OSError: the copy did not match the source; nothing was published
    """
    if not isinstance(source, FileSystemTarget) or not isinstance(destination, FileSystemTarget):
        msg = f"copy_target copies files: got {type(source).__name__} -> {type(destination).__name__}"
        raise TypeError(msg)
    if part_size < 5 * MiB:
        msg = f"part_size must be at least 5 MiB (S3's minimum part), got {part_size}"
        raise ValueError(msg)
    if isinstance(source, LocalTarget) and not Path(source.path).is_file():
        raise FileNotFoundError(f"{source.path} does not exist; nothing to copy")
    started = time.monotonic()
    if isinstance(destination, LocalTarget):
        copied = _to_local(source, destination, part_size, progress)
    elif _is_s3(destination):
        copied = _to_s3(source, destination, part_size, progress)
    else:
        copied = _to_other(source, destination, part_size, progress)
    elapsed = time.monotonic() - started
    log.info(
        "copied %s -> %s: %d bytes in %.2fs (%.1f MiB/s)",
        source.path,
        destination.path,
        copied,
        elapsed,
        copied / MiB / max(elapsed, 1e-6),
    )
    return copied
