"""Content versions: which bytes an object holds, told cheaply, the same for the same bytes anywhere.

``md5:<hex>`` for a local file and for an S3 object whose ETag is its MD5 (single-part uploads);
``etag:<etag>:<size>`` for a multipart S3 object, whose ETag is not a content MD5. The string forms are
part of versioned output names, so they never change.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import luigi
from luigi.target import Target

from csci_utils.luigi.s3.client import s3_head

__all__ = ["ContentVersion", "content_version", "md5_of_file", "object_version"]

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class ContentVersion:
    """A version of an object's content: an MD5 digest, or a multipart ETag and the size.

    ``str()`` gives the stable string form (``md5:<hex>`` or ``etag:<etag>:<size>``); :meth:`parse`
    reads it back.
    """

    kind: Literal["md5", "etag"]
    value: str
    size: int | None = None

    def __post_init__(self) -> None:
        """Refuse a version that its string form could not carry."""
        if self.kind == "md5":
            if len(self.value) != 32 or not set(self.value) <= _HEX or self.size is not None:
                msg = f"an md5 version is 32 lowercase hex digits and no size, got {self.value!r}"
                raise ValueError(msg)
        elif self.kind == "etag":
            if not self.value or ":" in self.value or self.size is None or self.size < 0:
                msg = f"an etag version needs an ETag without ':' and a size, got {self.value!r}"
                raise ValueError(msg)
        else:
            msg = f"unknown content version kind {self.kind!r} (expected md5 or etag)"
            raise ValueError(msg)

    def __str__(self) -> str:
        """Return the stable string form."""
        if self.kind == "md5":
            return f"md5:{self.value}"
        return f"etag:{self.value}:{self.size}"

    @classmethod
    def parse(cls, text: str) -> ContentVersion:
        """Read a version back from its string form.

        :raises ValueError: for text that is not ``md5:<hex>`` or ``etag:<etag>:<size>``
        """
        kind, _, rest = text.partition(":")
        if kind == "md5":
            return cls("md5", rest)
        if kind == "etag":
            etag, _, size = rest.rpartition(":")
            if size.isdigit():
                return cls("etag", etag, int(size))
        msg = f"not a content version: {text!r} (expected md5:<hex> or etag:<etag>:<size>)"
        raise ValueError(msg)

    @classmethod
    def of_etag(cls, etag: str, size: int) -> ContentVersion:
        """Return the version an S3 object's ETag and size give: its MD5 when the ETag is one."""
        if len(etag) == 32 and set(etag) <= _HEX:
            return cls("md5", etag)
        return cls("etag", etag, size)

    def matches_file(self, path: str | os.PathLike[str]) -> bool:
        """Tell whether a local file has this content (only its size can be compared for an ETag)."""
        if self.kind == "md5":
            return md5_of_file(path) == self.value
        return Path(path).stat().st_size == self.size


def md5_of_file(path: str | os.PathLike[str]) -> str:
    """Return a local file's MD5 hex digest (remembered per file state: which file, its size and mtime)."""
    # The file is told by its device and inode, which one stat gives: resolving the path instead (a stat per
    # folder of it) was most of the cost of asking a task's input versions, which Luigi does several times.
    file = Path(path).absolute()
    status = file.stat()
    return _md5_of_state(os.fspath(file), status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


@functools.lru_cache(maxsize=1024)
def _md5_of_state(path: str, device: int, inode: int, size: int, mtime_ns: int) -> str:
    """Read and hash a file; the inode, size and mtime in the key make a replaced file be read again."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def content_version(target: Target) -> ContentVersion | None:
    """Return the version of a target's content, or None if it does not exist.

    :raises TypeError: for a target that is neither a local file nor an S3 object
    """
    if isinstance(target, luigi.LocalTarget):
        try:
            return ContentVersion("md5", md5_of_file(target.path))
        except FileNotFoundError:
            return None
    s3 = sys.modules.get("luigi.contrib.s3")  # an S3Target exists only if its module was imported
    if s3 is not None and isinstance(target, s3.S3Target):
        try:
            size, etag = s3_head(target)
        except FileNotFoundError:
            return None
        return ContentVersion.of_etag(etag, size)
    msg = f"cannot tell the version of a {type(target).__name__}; use a local path or an s3:// URL"
    raise TypeError(msg)


def object_version(target: Target) -> str | None:
    """Return the string form of :func:`content_version` (what versioned names hash), or None."""
    version = content_version(target)
    return None if version is None else str(version)
