"""Reusable copy tasks: any location to any location, atomic on the destination, streamed, verified.

The general pattern behind "download the model", "download the image" and "upload if missing": a task
whose single requirement outputs a file and whose own output is the same bytes somewhere else. Locations
are strings handed to :func:`csci_utils.luigi.storage.target_for`, so one task covers local folders and
S3 in either direction.

Up/Down (remote storage is the source of truth, local files are a cache)::

    ExternalFile(local) <- UploadIfMissing(local, remote) <- UpDown(local, remote)  (output: local)

:class:`UpDown` is complete when both copies exist. A laptop with only the local file uploads it; a CI
runner with only the bucket downloads it; a second run transfers nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import luigi
from luigi.local_target import LocalTarget
from luigi.target import FileSystemTarget, Target

from csci_utils.luigi.storage import (
    S3Settings,
    md5_of_file,
    s3_head,
    split_s3_url,
    target_for,
    translate_s3_errors,
)
from csci_utils.luigi.target import suffix_preserving_atomic_file

__all__ = [
    "DEFAULT_PART_SIZE",
    "CopyFile",
    "CopyTask",
    "DownloadIfMissing",
    "ExternalFile",
    "UpDown",
    "UploadIfMissing",
    "copy_target",
]

log = logging.getLogger(__name__)

MiB = 1024 * 1024
# S3's multipart part size: awscli's default, well above S3's 5 MiB minimum.
DEFAULT_PART_SIZE = 8 * MiB
_MAX_CONCURRENCY = 10
_MAX_IO_QUEUE = 16
_HASH_THREADS = min(4, os.cpu_count() or 1)
_MULTIPART_ETAG = re.compile(r"[0-9a-f]{32}-([0-9]+)")
_PROGRESS_EVERY_S = 0.5

ProgressCallback = Callable[[int], None]


# ---------------------------------------------------------------------------------------------------------
# Progress: bytes and rate on a terminal, nothing in CI logs.


class _Progress:
    """A thread-safe byte counter that redraws one stderr line at most twice a second."""

    def __init__(self, label: str, total: int | None, stream: IO[str]) -> None:
        self._label = label
        self._total = total
        self._stream = stream
        self._done = 0
        self._start = time.monotonic()
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, amount: int) -> None:
        with self._lock:
            self._done += amount
            now = time.monotonic()
            if now - self._last >= _PROGRESS_EVERY_S:
                self._last = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self._done / MiB / max(now - self._start, 1e-6)
        total = f" / {self._total / MiB:.1f}" if self._total is not None else ""
        self._stream.write(f"\r{self._label}: {self._done / MiB:.1f}{total} MiB, {rate:.1f} MiB/s")
        self._stream.flush()

    def finish(self) -> None:
        """Draw the final figures and end the line."""
        with self._lock:
            self._draw(time.monotonic())
            self._stream.write("\n")
            self._stream.flush()


@contextmanager
def _progress(label: str, total: int | None, enabled: bool | None) -> Iterator[ProgressCallback | None]:
    """Yield a progress callback when ``enabled`` (default: stderr is a terminal), else None."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    bar = _Progress(label, total, sys.stderr)
    try:
        yield bar
    finally:
        bar.finish()


# ---------------------------------------------------------------------------------------------------------
# Sides of a copy


def _is_s3(target: Target) -> bool:
    """Tell whether a target is an S3 object, without importing the optional S3 support to find out."""
    s3 = sys.modules.get("luigi.contrib.s3")  # an S3Target exists only if its module was imported
    return s3 is not None and isinstance(target, s3.S3Target)


def _boto(target: FileSystemTarget) -> Any:
    """Return the boto3 client behind an S3Target's luigi client."""
    return target.fs.s3.meta.client


def _settings(target: FileSystemTarget) -> S3Settings | None:
    """Return the settings our storage layer attached to the target's client, if any."""
    return getattr(target.fs, "settings", None)


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


def _is_plain_md5(etag: str) -> bool:
    """Tell whether an ETag is the object's MD5 (single-part, unencrypted uploads)."""
    return len(etag) == 32 and all(c in "0123456789abcdef" for c in etag.lower())


def _md5_of_range(path: str, start: int, length: int) -> bytes:
    """Return the MD5 digest of ``length`` bytes of a file from ``start``."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        f.seek(start)
        while length > 0 and (chunk := f.read(min(MiB, length))):
            digest.update(chunk)
            length -= len(chunk)
    return digest.digest()


def _multipart_etag(path: str, size: int, part_size: int) -> str:
    """Return the ETag S3 gives these bytes uploaded in ``part_size`` parts: MD5 of the parts' MD5s, "-N".

    The parts are hashed in parallel (hashlib releases the GIL on large buffers).
    """
    starts = range(0, size, part_size)
    with ThreadPoolExecutor(max_workers=_HASH_THREADS) as pool:
        digests = list(
            pool.map(lambda start: _md5_of_range(path, start, min(part_size, size - start)), starts)
        )
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def _check_download(source: FileSystemTarget, path: str, size: int, etag: str) -> None:
    """Raise OSError unless a downloaded file has the object's ETag, where the ETag is an MD5 form.

    Multipart downloads are ranged GETs, which S3 sends without a checksum, so this is the end-to-end check.
    An object whose parts are not all one size, or whose ETag is not an MD5 (SSE-KMS), gets the size check
    only.
    """
    if _is_plain_md5(etag):
        actual = md5_of_file(path)
    elif match := _MULTIPART_ETAG.fullmatch(etag):
        part_size = _first_part_size(source)
        if part_size <= 0 or -(-size // part_size) != int(match.group(1)):
            log.debug("%s: parts of uneven size; checked its size only", source.path)
            return
        actual = _multipart_etag(path, size, part_size)
    else:
        log.debug("%s: ETag %s is not an MD5; checked its size only", source.path, etag)
        return
    if actual != etag:
        msg = f"download of {source.path} does not match its ETag (corrupted in transit?); not published"
        raise OSError(msg)


def _first_part_size(target: FileSystemTarget) -> int:
    """Return the size of an S3 object's first part (boto3 and awscli make all but the last that size)."""
    bucket, key = split_s3_url(target.path)
    with translate_s3_errors(target.path, _settings(target)):
        head = _boto(target).head_object(Bucket=bucket, Key=key, PartNumber=1)
    return int(head["ContentLength"])


class _CountingReader:
    """A read-only stream that counts and hashes what passes through it (for uploads of streams)."""

    def __init__(self, raw: IO[bytes], progress: ProgressCallback | None) -> None:
        self._raw = raw
        self._progress = progress
        self.count = 0
        self.md5 = hashlib.md5(usedforsecurity=False)

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if isinstance(data, str):
            msg = "copy_target streams bytes: give the source target format=luigi.format.Nop"
            raise TypeError(msg)
        self.count += len(data)
        self.md5.update(data)
        if self._progress is not None:
            self._progress(len(data))
        return data


def _size_mismatch(what: str, expected: int, actual: int) -> OSError:
    """Return the error for a copy whose size does not match its source."""
    return OSError(
        f"copy to {what} is incomplete: expected {expected} bytes, got {actual}; nothing was published"
    )


# ---------------------------------------------------------------------------------------------------------
# Writers: one per destination kind, each all-or-nothing.


def _to_local(
    source: FileSystemTarget, destination: LocalTarget, part_size: int, progress: bool | None
) -> int:
    """Copy into a local file through a hidden sibling temp file that is renamed into place on success."""
    destination.makedirs()
    if _is_s3(source):
        size, etag = s3_head(source)
        bucket, key = split_s3_url(source.path)
        with (
            _progress(f"download {source.path}", size, progress) as callback,
            translate_s3_errors(source.path, _settings(source)),
            suffix_preserving_atomic_file(destination.path) as out,
        ):
            _boto(source).download_fileobj(
                bucket, key, out, Config=_transfer_config(part_size), Callback=callback
            )
            out.flush()
            written = os.fstat(out.fileno()).st_size
            if written != size:
                raise _size_mismatch(destination.path, size, written)
            _check_download(source, out.tmp_path, size, etag)
        return written
    expected = _local_size(source)
    with (
        _progress(f"copy {source.path}", expected, progress) as callback,
        _open_source(source) as raw,
        suffix_preserving_atomic_file(destination.path) as out,
    ):
        reader = _CountingReader(raw, callback)
        shutil.copyfileobj(reader, out, part_size)
        if expected is not None and reader.count != expected:
            raise _size_mismatch(destination.path, expected, reader.count)
    return reader.count


def _to_s3(
    source: FileSystemTarget, destination: FileSystemTarget, part_size: int, progress: bool | None
) -> int:
    """Copy into an S3 object: one PUT, or a multipart upload that is aborted if any part fails."""
    bucket, key = split_s3_url(destination.path)
    client = _boto(destination)
    config = _transfer_config(part_size)
    md5: str | None = None
    with translate_s3_errors(destination.path, _settings(destination)):
        if _is_s3(source):
            size, _ = s3_head(source)
            src_bucket, src_key = split_s3_url(source.path)
            with _progress(f"copy {source.path}", size, progress) as callback:
                client.copy(
                    {"Bucket": src_bucket, "Key": src_key}, bucket, key, Config=config, Callback=callback
                )
        elif isinstance(source, LocalTarget):
            size = Path(source.path).stat().st_size
            with _progress(f"upload {source.path}", size, progress) as callback:
                client.upload_file(source.path, bucket, key, Config=config, Callback=callback)
            if size < part_size:  # one PUT: S3's ETag is the MD5, cheap to check on a small file
                md5 = md5_of_file(source.path)
        else:
            with _progress(f"upload {source.path}", None, progress) as callback, _open_source(source) as raw:
                reader = _CountingReader(raw, callback)
                client.upload_fileobj(reader, bucket, key, Config=config)
            size, md5 = reader.count, reader.md5.hexdigest()
        stored, etag = s3_head(destination)
        if stored != size or (md5 is not None and _is_plain_md5(etag) and etag != md5):
            client.delete_object(Bucket=bucket, Key=key)
            msg = f"{destination.path}: S3 kept {stored} bytes, not the {size} sent (or MD5 differs); removed"
            raise OSError(msg)
    return size


def _to_other(
    source: FileSystemTarget, destination: FileSystemTarget, part_size: int, progress: bool | None
) -> int:
    """Copy into any other luigi target through its own atomic ``open('w')``."""
    expected = _local_size(source)
    with (
        _progress(f"copy {source.path}", expected, progress) as callback,
        _open_source(source) as raw,
        destination.open("w") as out,
    ):
        reader = _CountingReader(raw, callback)
        shutil.copyfileobj(reader, out, part_size)
        if expected is not None and reader.count != expected:
            raise _size_mismatch(destination.path, expected, reader.count)
    return reader.count


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


def copy_target(
    source: Target, destination: Target, *, part_size: int = DEFAULT_PART_SIZE, progress: bool | None = None
) -> int:
    """Copy a file target's bytes into another file target, all or nothing; return the bytes copied.

    Works for any pair of local and S3 targets (and other luigi file targets through ``open``). The copy
    streams in ``part_size`` pieces, so memory does not grow with the file; uploads of more than one part
    use S3 multipart, which is aborted on failure. The destination appears only complete: a local file is
    written beside its final name and renamed; an S3 object becomes visible only when its PUT or multipart
    upload completes. The size is always checked; downloads are also checked against the object's ETag (its
    MD5, or the MD5 of its parts' MD5s for a multipart object), single-part uploads against the MD5.

    :param progress: show bytes and rate on stderr; default only when stderr is a terminal
    :raises FileNotFoundError: the source (or its bucket) does not exist
    :raises PermissionError: missing or refused S3 credentials (the message names the settings)
    :raises ConnectionError: the S3 endpoint cannot be reached or went away
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


# ---------------------------------------------------------------------------------------------------------
# Tasks


class ExternalFile(luigi.ExternalTask):
    """A file that something outside the workflow provides, at a local path or ``s3://`` URL."""

    location = luigi.Parameter(description="path, file:// URL or s3:// URL of the file")

    def output(self) -> FileSystemTarget:
        """Return the file's binary target."""
        return target_for(self.location, binary=True)


class CopyTask(luigi.Task):
    """Copy the single target that :meth:`requires` outputs to :meth:`output`, atomically and verified.

    Subclasses give ``requires`` and ``output``; this is the whole "download the model / the image"
    pattern. Like every luigi task it is skipped when its output already exists.
    """

    def run(self) -> None:
        """Copy the input to the output."""
        copy_target(self._single_input(), self.output())

    def _single_input(self) -> Target:
        """Return the one input target, refusing a requirement with several outputs."""
        source = self.input()
        if not isinstance(source, Target):
            msg = f"{type(self).__name__} copies exactly one input target, got {type(source).__name__}"
            raise TypeError(msg)
        return source


class CopyFile(CopyTask):
    """Copy the file at ``source`` to ``destination`` (any locations) unless ``destination`` exists."""

    source = luigi.Parameter(description="location of the file to copy")
    destination = luigi.Parameter(description="location to write")

    def requires(self) -> luigi.Task:
        """Require the source to exist."""
        return ExternalFile(self.source)

    def output(self) -> FileSystemTarget:
        """Return the destination's binary target."""
        return target_for(self.destination, binary=True)


class UploadIfMissing(CopyTask):
    """Push the file at ``local`` to ``remote`` if the remote lacks it."""

    local = luigi.Parameter(description="path (or file:// URL) of the local file")
    remote = luigi.Parameter(description="s3:// URL (or any location) it belongs at")

    def requires(self) -> luigi.Task:
        """Require the local file to exist."""
        return ExternalFile(self.local)

    def output(self) -> FileSystemTarget:
        """Return the remote copy's binary target."""
        return target_for(self.remote, binary=True)


class DownloadIfMissing(CopyTask):
    """Fetch the file at ``remote`` into ``local`` if the local cache lacks it."""

    remote = luigi.Parameter(description="s3:// URL (or any location) of the file")
    local = luigi.Parameter(description="path (or file:// URL) of the local copy")

    def requires(self) -> luigi.Task:
        """Require the remote file to exist."""
        return ExternalFile(self.remote)

    def output(self) -> FileSystemTarget:
        """Return the local copy's binary target."""
        return target_for(self.local, binary=True)


class UpDown(CopyTask):
    """Make sure a file is both at ``remote`` (the source of truth) and at ``local`` (the cache).

    Output: the local file, so downstream tasks read it from disk. Complete when both copies exist.
    Otherwise it first requires :class:`UploadIfMissing` (which uploads only when the remote lacks the
    file), then downloads only when the local file is missing.
    """

    local = luigi.Parameter(description="path (or file:// URL) of the local copy")
    remote = luigi.Parameter(description="s3:// URL (or any location) of the shared copy")

    def requires(self) -> luigi.Task:
        """Require the remote copy, uploading the local file if the remote lacks it."""
        return UploadIfMissing(local=self.local, remote=self.remote)

    def output(self) -> FileSystemTarget:
        """Return the local copy's binary target."""
        return target_for(self.local, binary=True)

    def complete(self) -> bool:
        """Tell whether both the local and the remote copy exist."""
        return bool(self.output().exists() and self.input().exists())

    def run(self) -> None:
        """Download the remote copy unless the local file is already there."""
        if not self.output().exists():
            super().run()
