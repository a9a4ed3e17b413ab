"""The version of a stored object, and whether a cached copy is still that version.

Versions are content digests wherever the store gives one cheaply: the MD5 of a local file (computed once
per file state in this process) and the ETag of an S3 object, which is the MD5 of a single-part upload. So
the same bytes have the same version in a local folder and in a bucket, and any content change gives a new
one.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import luigi
from luigi.local_target import LocalTarget
from luigi.target import FileSystemTarget

_CHUNK = 1 << 20


def target_version(target: luigi.Target) -> str | None:
    """Return the version of ``target``'s object (``md5:<hex>`` or ``etag:<etag>:<size>``); None if absent."""
    if isinstance(target, LocalTarget):
        try:
            stat = Path(target.path).stat()
        except FileNotFoundError:
            return None
        return "md5:" + _md5(os.fspath(Path(target.path).resolve()), stat.st_size, stat.st_mtime_ns)
    from luigi.contrib.s3 import S3Target

    if isinstance(target, S3Target):
        return _s3_version(target)
    msg = f"cannot tell the version of a {type(target).__name__}; use a local path or an s3:// URL"
    raise TypeError(msg)


def check_cached_copy(path: str | os.PathLike[str], version: str, source: str) -> None:
    """Raise ValueError if the cached file at ``path`` is not ``version`` of ``source`` (the remote changed).

    Multipart S3 uploads have no content digest; then only the size is compared.
    """
    local = Path(path)
    stat = local.stat()
    kind, _, rest = version.partition(":")
    if kind == "md5":
        same = _md5(os.fspath(local.resolve()), stat.st_size, stat.st_mtime_ns) == rest
    else:
        same = rest.rpartition(":")[2] == str(stat.st_size)
    if not same:
        msg = (
            f"the cached copy {local} differs from {source}; delete the cached copy to use the remote's, "
            "or upload your version under a new name"
        )
        raise ValueError(msg)


@functools.lru_cache(maxsize=1024)
def _md5(path: str, size: int, mtime_ns: int) -> str:
    """Return the MD5 of a file; keyed by size and mtime so a rewritten file is read again."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _s3_version(target: FileSystemTarget) -> str | None:
    """Return the version from one HEAD request, or None if the key is missing."""
    from botocore.exceptions import ClientError

    from csci_utils.luigi.storage import split_s3_url, translate_s3_errors

    bucket, key = split_s3_url(target.path)
    with translate_s3_errors(target.path):
        try:
            head = target.fs.s3.meta.client.head_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
    etag = head["ETag"].strip('"')
    if "-" not in etag:
        return f"md5:{etag}"
    return f"etag:{etag}:{head['ContentLength']}"
