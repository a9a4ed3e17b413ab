"""The version of a stored object: what changes when its content is replaced."""

from __future__ import annotations

from pathlib import Path

import luigi
from luigi.local_target import LocalTarget


def target_version(target: luigi.Target) -> str | None:
    """Return a short version stamp of the object behind ``target``, or None if it does not exist.

    Local files: size and modification time (nanoseconds); S3 objects: ETag and size (the ETag is the MD5
    of a single-part upload). Cheap, so tasks can call it while scheduling; it never reads the content.
    """
    if isinstance(target, LocalTarget):
        try:
            stat = Path(target.path).stat()
        except FileNotFoundError:
            return None
        return f"file:{stat.st_size}:{stat.st_mtime_ns}"
    from luigi.contrib.s3 import S3Target

    if isinstance(target, S3Target):
        return _s3_version(target)
    msg = f"cannot tell the version of a {type(target).__name__}; use a local path or an s3:// URL"
    raise TypeError(msg)


def _s3_version(target: luigi.Target) -> str | None:
    """Return ``s3:<etag>:<size>`` from one HEAD request, or None if the key is missing."""
    from botocore.exceptions import ClientError

    bucket, _, key = target.path.removeprefix("s3://").partition("/")
    try:
        head = target.fs.s3.meta.client.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise
    return f"s3:{head['ETag'].strip(chr(34))}:{head['ContentLength']}"
