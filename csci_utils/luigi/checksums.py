"""Is a copy the same bytes as its source? MD5s and S3 ETags (including the multipart "MD5 of MD5s")."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor

from luigi.target import FileSystemTarget

from csci_utils.luigi.s3.client import boto_client, target_settings
from csci_utils.luigi.s3.errors import split_s3_url, translate_s3_errors
from csci_utils.luigi.versions import md5_of_file

__all__ = ["check_download", "is_plain_md5", "multipart_etag"]

log = logging.getLogger(__name__)

MiB = 1024 * 1024
_HASH_THREADS = min(4, os.cpu_count() or 1)
_MULTIPART_ETAG = re.compile(r"[0-9a-f]{32}-([0-9]+)")


def is_plain_md5(etag: str) -> bool:
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


def multipart_etag(path: str, size: int, part_size: int) -> str:
    """Return the ETag S3 gives these bytes uploaded in ``part_size`` parts: MD5 of the parts' MD5s, "-N".

    The parts are hashed in parallel (hashlib releases the GIL on large buffers).
    """
    starts = range(0, size, part_size)
    with ThreadPoolExecutor(max_workers=_HASH_THREADS) as pool:
        digests = list(
            pool.map(lambda start: _md5_of_range(path, start, min(part_size, size - start)), starts)
        )
    return f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}"


def _first_part_size(target: FileSystemTarget) -> int:
    """Return the size of an S3 object's first part (boto3 and awscli make all but the last that size)."""
    bucket, key = split_s3_url(target.path)
    with translate_s3_errors(target.path, target_settings(target)):
        head = boto_client(target).head_object(Bucket=bucket, Key=key, PartNumber=1)
    return int(head["ContentLength"])


def check_download(source: FileSystemTarget, path: str, size: int, etag: str) -> None:
    """Raise OSError unless a downloaded file has the object's ETag, where the ETag is an MD5 form.

    Multipart downloads are ranged GETs, which S3 sends without a checksum, so this is the end-to-end check.
    An object whose parts are not all one size, or whose ETag is not an MD5 (SSE-KMS), gets the size check
    only.
    """
    if is_plain_md5(etag):
        actual = md5_of_file(path)
    elif match := _MULTIPART_ETAG.fullmatch(etag):
        part_size = _first_part_size(source)
        if part_size <= 0 or -(-size // part_size) != int(match.group(1)):
            log.debug("%s: parts of uneven size; checked its size only", source.path)
            return
        actual = multipart_etag(path, size, part_size)
    else:
        log.debug("%s: ETag %s is not an MD5; checked its size only", source.path, etag)
        return
    if actual != etag:
        msg = f"download of {source.path} does not match its ETag (corrupted in transit?); not published"
        raise OSError(msg)
