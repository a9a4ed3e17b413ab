"""One storage interface for local folders and S3: a location string in, the right Luigi target out.

Tasks name their inputs and outputs by location (``data/images/luigi.jpg``, ``file:///srv/x.pth``,
``s3://bucket/images/luigi.jpg``) and call :func:`target_for`; they never branch on the scheme. S3 settings
come the standard ways (luigi.cfg ``[s3]``, AWS environment variables, a ``.env`` file) and are resolved
once into :class:`S3Settings`. S3 failures surface as builtin exceptions (:class:`FileNotFoundError`,
:class:`PermissionError`, :class:`ConnectionError`) whose messages name the setting to fix and never a
secret.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import posixpath
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import luigi
import luigi.configuration
import luigi.format
from luigi.target import FileSystemTarget

from csci_utils.luigi.target import SuffixPreservingLocalTarget

if TYPE_CHECKING:
    from luigi.contrib.s3 import S3Client

__all__ = [
    "S3Settings",
    "join",
    "list_names",
    "md5_of_file",
    "object_version",
    "s3_head",
    "split_s3_url",
    "target_for",
    "translate_s3_errors",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

_CREDENTIALS_HINT = (
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (environment or .env), "
    "or aws_access_key_id and aws_secret_access_key in luigi.cfg [s3]"
)
_ENDPOINT_HINT = "check AWS_ENDPOINT_URL_S3 (or luigi.cfg [s3] endpoint_url) and that the server is up"
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_REFUSED_CODES = frozenset(
    {"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
    | {"InvalidClientTokenId", "ExpiredToken", "InvalidToken"}
)


@dataclass(frozen=True)
class S3Settings:
    """How to reach S3, resolved once: luigi.cfg ``[s3]`` over the environment over a ``.env`` file.

    ``None`` leaves the value to boto3's own lookup (``~/.aws``, instance roles). Credentials are kept out of
    ``repr`` and of every message.
    """

    endpoint_url: str | None = None
    region_name: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)

    @classmethod
    def resolve(
        cls,
        *,
        config: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
        dotenv_path: str | os.PathLike[str] | None = ".env",
    ) -> S3Settings:
        """Build settings from luigi.cfg ``[s3]`` (or ``config``), ``environ`` and ``dotenv_path``.

        :param config: the ``[s3]`` section's keys (``endpoint_url``, ``region_name``, ``aws_access_key_id``,
            ``aws_secret_access_key``, ``aws_session_token``); default: luigi's loaded configuration
        :param environ: environment variables; default :data:`os.environ`
        :param dotenv_path: a ``.env`` file read without changing the environment; ``None`` to skip it
        """
        section = dict(_luigi_s3_section() if config is None else config)
        env = dict(os.environ if environ is None else environ)
        dotenv = _read_dotenv(dotenv_path)

        def pick(key: str, *names: str) -> str | None:
            if section.get(key):
                return str(section[key])
            for mapping in (env, dotenv):
                for name in names:
                    if mapping.get(name):
                        return mapping[name]
            return None

        return cls(
            endpoint_url=pick("endpoint_url", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
            region_name=pick("region_name", "AWS_DEFAULT_REGION", "AWS_REGION"),
            aws_access_key_id=pick("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=pick("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
            aws_session_token=pick("aws_session_token", "AWS_SESSION_TOKEN"),
        )

    @property
    def endpoint_name(self) -> str:
        """The endpoint for messages: the configured URL, or AWS's own."""
        return self.endpoint_url or "the default AWS endpoint"


def _luigi_s3_section() -> dict[str, str]:
    """Return luigi.cfg's ``[s3]`` section, or nothing if there is none."""
    config = luigi.configuration.get_config()
    if not config.has_section("s3"):
        return {}
    return {key: str(config.get("s3", key)) for key in config.options("s3")}


def _read_dotenv(path: str | os.PathLike[str] | None) -> dict[str, str]:
    """Return a ``.env`` file's values (empty if there is none), leaving ``os.environ`` alone."""
    if path is None or not Path(path).is_file():
        return {}
    from dotenv import dotenv_values

    return {key: value for key, value in dotenv_values(path).items() if value is not None}


# ---------------------------------------------------------------------------------------------------------
# Errors: botocore's exceptions become builtin ones at this boundary.


def _botocore_cause(err: BaseException) -> BaseException | None:
    """Return the botocore error behind ``err`` (boto3's transfer errors wrap it), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__module__.startswith("botocore"):
            return current
        current = current.__cause__ or current.__context__
    return None


def _as_oserror(err: BaseException, url: str, settings: S3Settings | None = None) -> OSError | None:
    """Return the builtin error to raise for a boto3/botocore failure on ``url``, or None if not one."""
    from botocore import exceptions as bce

    if type(err).__module__ == "builtins":
        return None  # already a builtin error (ours, or a socket's): let it through as it is
    cause = _botocore_cause(err)
    if cause is None:
        return None
    endpoint = (settings or S3Settings.resolve()).endpoint_name
    if isinstance(cause, bce.NoCredentialsError | bce.PartialCredentialsError):
        return PermissionError(f"no AWS credentials to reach {url}: {_CREDENTIALS_HINT}")
    if isinstance(cause, bce.ConnectionError | bce.HTTPClientError):
        return ConnectionError(f"cannot reach S3 at {endpoint} for {url}: {_ENDPOINT_HINT}")
    if isinstance(cause, bce.ClientError):
        code = str(cause.response.get("Error", {}).get("Code", "")) or "error"
        bucket, _ = split_s3_url(url)
        if code == "NoSuchBucket":
            return FileNotFoundError(
                f"{url}: bucket {bucket!r} does not exist at {endpoint}; create it or fix the location"
            )
        if code in _MISSING_CODES:
            return FileNotFoundError(f"{url} does not exist")
        if code in _REFUSED_CODES:
            return PermissionError(
                f"S3 refused access to {url} ({code}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or luigi.cfg [s3]) and the bucket's permissions"
            )
        return OSError(f"{url}: S3 at {endpoint} answered {code}")
    return OSError(f"{url}: S3 request failed ({type(cause).__name__}): {_ENDPOINT_HINT}")


@contextmanager
def translate_s3_errors(url: str, settings: S3Settings | None = None) -> Iterator[None]:
    """Re-raise boto3/botocore failures inside the block as builtin :class:`OSError` subclasses."""
    try:
        yield
    except Exception as err:
        translated = _as_oserror(err, url, settings)
        if translated is None:
            raise
        raise translated from err


def _translated(method: Callable[..., _T]) -> Callable[..., _T]:
    """Wrap an S3Client method whose first argument is a URL so its failures come out translated."""

    @functools.wraps(method)
    def wrapper(self: Any, path: str, *args: Any, **kwargs: Any) -> _T:
        with translate_s3_errors(str(path), self.settings):
            return method(self, path, *args, **kwargs)

    return wrapper


def _translated_put(method: Callable[..., _T]) -> Callable[..., _T]:
    """Wrap an S3Client upload whose second argument is the destination URL."""

    @functools.wraps(method)
    def wrapper(self: Any, source: Any, destination: str, *args: Any, **kwargs: Any) -> _T:
        with translate_s3_errors(str(destination), self.settings):
            return method(self, source, destination, *args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------------------------------------
# Backends


def split_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/some/key`` into ``("bucket", "some/key")``; refuse a URL without a bucket."""
    parts = urlsplit(url, allow_fragments=False)
    if parts.scheme != "s3" or not parts.netloc:
        msg = f"not an S3 URL with a bucket: {url!r} (expected s3://BUCKET/KEY)"
        raise ValueError(msg)
    return parts.netloc, parts.path.lstrip("/")


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


@functools.cache
def _client_class() -> type[S3Client]:
    """Define the translating client on first use, so boto3 stays an optional extra."""
    try:
        import boto3
    except ImportError:
        msg = "s3:// locations need boto3: install the 's3' extra (pip install 'csci-psets[s3]')"
        raise ImportError(msg) from None
    from botocore.config import Config
    from luigi.contrib.s3 import S3Client

    class TranslatingS3Client(S3Client):
        """luigi's S3Client built from :class:`S3Settings`; failures come out as builtin errors."""

        def __init__(self, settings: S3Settings) -> None:
            super().__init__()
            self.settings = settings

        @property
        def s3(self) -> Any:
            """Return the boto3 resource, made on first use in a session of its own.

            boto3's default session caches the first credentials it finds, which would outlive a change
            of settings in the same process.
            """
            if self._s3 is None:
                settings = self.settings
                session = boto3.session.Session(
                    aws_access_key_id=settings.aws_access_key_id,
                    aws_secret_access_key=settings.aws_secret_access_key,
                    aws_session_token=settings.aws_session_token,
                    region_name=settings.region_name,
                )
                # "standard" retries; the number of attempts stays AWS_MAX_ATTEMPTS's to set.
                config = Config(connect_timeout=5, read_timeout=60, retries={"mode": "standard"})
                self._s3 = session.resource("s3", endpoint_url=settings.endpoint_url, config=config)
            return self._s3

        @s3.setter
        def s3(self, value: Any) -> None:
            self._s3 = value

        exists = _translated(S3Client.exists)
        isdir = _translated(S3Client.isdir)
        get_key = _translated(S3Client.get_key)
        remove = _translated(S3Client.remove)
        put_multipart = _translated_put(S3Client.put_multipart)
        put_string = _translated_put(S3Client.put_string)
        get = _translated(S3Client.get)
        get_as_bytes = _translated(S3Client.get_as_bytes)
        mkdir = _translated(S3Client.mkdir)

    return TranslatingS3Client


def s3_client(settings: S3Settings) -> S3Client:
    """Return a luigi S3Client for ``settings``: one per distinct settings and process, reused by targets."""
    # Keyed by pid too: luigi forks workers, and a forked child must not share its parent's open sockets.
    return _cached_client(settings, os.getpid())


@functools.lru_cache(maxsize=8)
def _cached_client(settings: S3Settings, pid: int) -> S3Client:
    """Make the client for ``settings`` in process ``pid``."""
    log.debug("S3 client for %r in process %d", settings, pid)
    return _client_class()(settings)


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
    if (
        part.startswith(("/", "\\"))
        or _scheme(part)
        or PurePosixPath(part).is_absolute()
        or Path(part).is_absolute()
    ):
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

    :raises ValueError: for an empty root or part, an absolute part, or ``.``/``..`` segments
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


def s3_head(target: FileSystemTarget) -> tuple[int, str]:
    """Return an S3 target's object size and ETag (unquoted); FileNotFoundError if the key is missing."""
    bucket, key = split_s3_url(target.path)
    with translate_s3_errors(target.path, getattr(target.fs, "settings", None)):
        head = target.fs.s3.meta.client.head_object(Bucket=bucket, Key=key)
    return int(head["ContentLength"]), str(head.get("ETag", "")).strip('"')


def md5_of_file(path: str | os.PathLike[str]) -> str:
    """Return a local file's MD5 hex digest (remembered per file state: path, size and mtime)."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return _md5_of_state(os.fspath(resolved), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=1024)
def _md5_of_state(path: str, size: int, mtime_ns: int) -> str:
    """Read and hash a file; the size and mtime in the key make a rewritten file be read again."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def object_version(target: luigi.Target) -> str | None:
    """Return the version of a target's object, or None if it does not exist.

    A content digest wherever the store gives one cheaply: ``md5:<hex>`` for a local file and for an S3
    object whose ETag is its MD5 (single-part uploads), so the same bytes have the same version in a folder
    and in a bucket; ``etag:<etag>:<size>`` for multipart S3 objects, whose ETag is not a content MD5.
    """
    if isinstance(target, luigi.LocalTarget):
        try:
            return "md5:" + md5_of_file(target.path)
        except FileNotFoundError:
            return None
    s3 = sys.modules.get("luigi.contrib.s3")  # an S3Target exists only if its module was imported
    if s3 is not None and isinstance(target, s3.S3Target):
        try:
            size, etag = s3_head(target)
        except FileNotFoundError:
            return None
        return f"etag:{etag}:{size}" if "-" in etag else f"md5:{etag}"
    msg = f"cannot tell the version of a {type(target).__name__}; use a local path or an s3:// URL"
    raise TypeError(msg)
