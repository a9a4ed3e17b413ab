"""Locations: a path, ``file://`` or ``s3://`` string in, the right Luigi target out; joining and listing.

Tasks name their inputs and outputs by location (``data/images/luigi.jpg``, ``file:///srv/x.pth``,
``s3://bucket/images/luigi.jpg``) and call :func:`target_for`; they never branch on the scheme.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import luigi.format
from luigi.target import FileSystemTarget

from csci_utils.luigi.s3.client import s3_client
from csci_utils.luigi.s3.errors import split_s3_url, translate_s3_errors
from csci_utils.luigi.s3.settings import S3Settings
from csci_utils.luigi.target import SuffixPreservingLocalTarget

__all__ = ["join", "list_names", "target_for"]


def _local(text: str, fmt: luigi.format.Format | None) -> SuffixPreservingLocalTarget:
    """Return a suffix-preserving local target for a plain path or ``file://`` URL."""
    parts = urlsplit(text)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            msg = f"file:// URLs must name a local path, got host {parts.netloc!r} in {text!r}"
            raise ValueError(msg)
        text = url2pathname(unquote(parts.path))
    if not text or text.endswith(("/", os.sep)):
        msg = f"a target needs a file name, got {text!r}"
        raise ValueError(msg)
    return SuffixPreservingLocalTarget(text, format=fmt)


def _s3(text: str, fmt: luigi.format.Format | None) -> FileSystemTarget:
    """Return an unmodified luigi S3Target whose client is configured from :class:`S3Settings`."""
    _, key = split_s3_url(text)
    if not key or key.endswith("/"):
        msg = f"an S3 target needs a key naming a file, got {text!r}"
        raise ValueError(msg)
    client = s3_client(S3Settings.resolve())
    from luigi.contrib.s3 import S3Target

    return S3Target(text, format=fmt, client=client)


_BACKENDS: dict[str, Callable[[str, luigi.format.Format | None], FileSystemTarget]] = {
    "": _local,
    "file": _local,
    "s3": _s3,
}


def _scheme(text: str) -> str:
    """Return a location's URL scheme; a one-letter "scheme" is a Windows drive, so none."""
    scheme = urlsplit(text).scheme.lower()
    return "" if len(scheme) == 1 else scheme


def target_for(location: str | os.PathLike[str], *, binary: bool = False) -> FileSystemTarget:
    """Return the Luigi target for a path, ``file://`` URL or ``s3://`` URL.

    Local locations give a :class:`~csci_utils.luigi.target.SuffixPreservingLocalTarget`, ``s3://`` ones a
    :class:`luigi.contrib.s3.S3Target` configured from :meth:`S3Settings.resolve`. ``binary=True`` gives
    :data:`luigi.format.Nop` so ``open`` reads and writes bytes; otherwise luigi's default text format.

    :raises ValueError: for an unknown scheme or a location that names no file
    :raises ImportError: for ``s3://`` without boto3 (the ``s3`` extra)
    """
    text = os.fspath(location)
    try:
        make = _BACKENDS[_scheme(text)]
    except KeyError:
        known = ", ".join(f"{s}://" for s in _BACKENDS if s)
        msg = f"unsupported location {text!r}; use a local path or one of {known}"
        raise ValueError(msg) from None
    return make(text, luigi.format.Nop if binary else None)


def _relative_segments(part: str) -> list[str]:
    """Split one relative part on ``/`` and refuse anything that could leave the root."""
    if not part:
        msg = "cannot join an empty name"
        raise ValueError(msg)
    if "\0" in part:  # no filesystem or URL takes it; os calls would fail later with a vaguer error
        msg = f"cannot join {part!r}: a name cannot contain a NUL character"
        raise ValueError(msg)
    # A string test: joins run for every name of every task, and building Paths for it was most of their cost.
    if part.startswith(("/", "\\")) or _scheme(part) or os.path.isabs(part):  # noqa: PTH117
        msg = f"cannot join an absolute location {part!r}; give a path relative to the root"
        raise ValueError(msg)
    segments = part.replace("\\", "/").split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            msg = f"cannot join {part!r}: empty, '.' and '..' names are not allowed"
            raise ValueError(msg)
    return segments


def join(root: str | os.PathLike[str], *parts: str) -> str:
    """Join a local path or URL root with relative parts (``"images"``, ``"a/b.jpg"``).

    :raises ValueError: for an empty root or part, an absolute part, ``.``/``..`` segments, or a NUL
    """
    text = os.fspath(root)
    if not text:
        msg = "cannot join onto an empty root"
        raise ValueError(msg)
    segments = [segment for part in parts for segment in _relative_segments(part)]
    if not segments:
        return text
    if _scheme(text):
        return posixpath.join(text.rstrip("/") + "/", *segments)
    return os.fspath(Path(text).joinpath(*segments))


def list_names(location: str | os.PathLike[str]) -> list[str]:
    """Return the sorted names of the files directly under a local folder or S3 prefix.

    A folder or prefix with no files gives ``[]``. Hidden names (a leading ``.``) are skipped: in-progress
    atomic writes use hidden temp names beside their target.

    :raises FileNotFoundError: for an S3 bucket that does not exist
    """
    text = os.fspath(location)
    scheme = _scheme(text)
    if scheme == "s3":
        names = _list_s3(text)
    elif scheme in ("", "file"):
        folder = Path(url2pathname(unquote(urlsplit(text).path)) if scheme == "file" else text)
        names = [entry.name for entry in folder.iterdir() if entry.is_file()] if folder.is_dir() else []
    else:
        msg = f"cannot list {text!r}; use a local folder or an s3:// prefix"
        raise ValueError(msg)
    return sorted(name for name in names if not name.startswith("."))


def _list_s3(url: str) -> list[str]:
    """Return the key names directly under an S3 prefix."""
    bucket, key = split_s3_url(url)
    prefix = key.rstrip("/") + "/" if key.strip("/") else ""
    settings = S3Settings.resolve()
    boto = s3_client(settings).s3.meta.client
    names: list[str] = []
    with translate_s3_errors(url, settings):
        for page in boto.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, Delimiter="/"
        ):
            names.extend(item["Key"][len(prefix) :] for item in page.get("Contents", []))
    return [name for name in names if name]
