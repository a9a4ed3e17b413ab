"""botocore's exceptions become builtin ones at this boundary, with messages that name the setting to fix.

:class:`FileNotFoundError` for a missing key or bucket, :class:`PermissionError` for missing or refused
credentials, :class:`ConnectionError` for an endpoint that cannot be reached or does not answer in time,
:class:`OSError` for the rest. No message ever contains a secret.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

from csci_utils.luigi.s3.settings import S3Settings

__all__ = ["split_s3_url", "translate_s3_errors", "translated", "translated_put"]

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


def split_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/some/key`` into ``("bucket", "some/key")``; refuse a URL without a bucket."""
    parts = urlsplit(url, allow_fragments=False)
    if parts.scheme != "s3" or not parts.netloc:
        msg = f"not an S3 URL with a bucket: {url!r} (expected s3://BUCKET/KEY)"
        raise ValueError(msg)
    return parts.netloc, parts.path.lstrip("/")


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


def as_oserror(err: BaseException, url: str, settings: S3Settings | None = None) -> OSError | None:
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
    if isinstance(cause, bce.ReadTimeoutError | bce.ConnectTimeoutError):
        return ConnectionError(
            f"S3 at {endpoint} did not answer in time for {url}: {_ENDPOINT_HINT} "
            "(timeouts: luigi.cfg [s3] connect_timeout, read_timeout, call_timeout)"
        )
    if isinstance(cause, bce.ConnectionError | bce.HTTPClientError):
        return ConnectionError(f"cannot reach S3 at {endpoint} for {url}: {_ENDPOINT_HINT}")
    if isinstance(cause, bce.ClientError):
        code = str(cause.response.get("Error", {}).get("Code", "")) or "error"
        bucket = urlsplit(url).netloc
        if code == "NoSuchBucket":
            return FileNotFoundError(
                f"{url}: bucket {bucket!r} does not exist at {endpoint}; create it or fix the location"
            )
        if code in _MISSING_CODES:
            return FileNotFoundError(f"{url} does not exist")
        if code in _REFUSED_CODES:
            return PermissionError(
                f"S3 refused access to {url} ({code}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(or luigi.cfg [s3], and aws_role_arn if set) and the bucket's permissions"
            )
        return OSError(f"{url}: S3 at {endpoint} answered {code}")
    return OSError(f"{url}: S3 request failed ({type(cause).__name__}): {_ENDPOINT_HINT}")


@contextmanager
def translate_s3_errors(url: str, settings: S3Settings | None = None) -> Iterator[None]:
    """Re-raise boto3/botocore failures inside the block as builtin :class:`OSError` subclasses."""
    try:
        yield
    except Exception as err:
        translated_error = as_oserror(err, url, settings)
        if translated_error is None:
            raise
        raise translated_error from err


def translated(method: Callable[..., _T]) -> Callable[..., _T]:
    """Wrap an S3Client method whose first argument is a URL so its failures come out translated."""

    @functools.wraps(method)
    def wrapper(self: Any, path: str, *args: Any, **kwargs: Any) -> _T:
        with translate_s3_errors(str(path), self.settings):
            return method(self, path, *args, **kwargs)

    return wrapper


def translated_put(method: Callable[..., _T]) -> Callable[..., _T]:
    """Wrap an S3Client upload whose second argument is the destination URL."""

    @functools.wraps(method)
    def wrapper(self: Any, source: Any, destination: str, *args: Any, **kwargs: Any) -> _T:
        with translate_s3_errors(str(destination), self.settings):
            return method(self, source, destination, *args, **kwargs)

    return wrapper
