"""The S3 client: luigi's ``S3Client`` built from :class:`S3Settings`, one per settings and process.

boto3 is imported on first use only, so it stays an optional extra (``pip install 'csci-psets[s3]'``).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from luigi.target import FileSystemTarget

from csci_utils.luigi.s3.errors import split_s3_url, translate_s3_errors, translated, translated_put
from csci_utils.luigi.s3.settings import S3Settings

if TYPE_CHECKING:
    from luigi.contrib.s3 import S3Client

__all__ = ["boto_client", "s3_client", "s3_head", "target_settings"]

log = logging.getLogger(__name__)

_FALSE = ("0", "false", "no", "off")
_RESOURCE_LOCK = threading.Lock()
_T = TypeVar("_T")


def _verify(text: str | None) -> bool | str | None:
    """Return boto3's ``verify``: None (its default), False to skip TLS checks, or a CA bundle path."""
    if text is None or text.strip().lower() in ("1", "true", "yes", "on"):
        return None
    return False if text.strip().lower() in _FALSE else text


def _session(settings: S3Settings) -> Any:
    """Return a boto3 session of its own for ``settings``, in the assumed role if one is set.

    boto3's default session caches the first credentials it finds, which would outlive a change of
    settings in the same process.
    """
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        aws_session_token=settings.aws_session_token,
        region_name=settings.region_name,
    )
    if not settings.aws_role_arn:
        return session
    return _assumed_role_session(session, settings)


def _assumed_role_session(base: Any, settings: S3Settings) -> Any:
    """Return a session whose credentials come from assuming the role, renewed before they expire.

    The role is assumed with the base session's credentials, as luigi's own S3Client does, but lazily and
    again whenever the temporary credentials near their expiry (a long batch outlives the first ones).
    The STS endpoint is botocore's to find (``AWS_ENDPOINT_URL_STS``).
    """
    import boto3
    import botocore.session
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

    fetcher = AssumeRoleCredentialFetcher(
        client_creator=base._session.create_client,
        source_credentials=base.get_credentials(),
        role_arn=settings.aws_role_arn,
        extra_args={"RoleSessionName": settings.aws_role_session_name},
    )
    core = botocore.session.Session()
    # botocore's own profile-based role assumption sets its credentials the same way.
    core._credentials = DeferredRefreshableCredentials(
        refresh_using=_naming_sts(fetcher.fetch_credentials), method="assume-role"
    )
    log.debug("using the assumed role %s", settings.aws_role_arn)
    return boto3.session.Session(botocore_session=core, region_name=settings.region_name)


def _naming_sts(fetch: Callable[[], _T]) -> Callable[[], _T]:
    """Wrap the role's credential fetch so an STS endpoint out of reach says so and names STS's setting.

    The fetch runs inside an S3 request, whose failure message would otherwise name S3's endpoint.
    """

    def fetch_naming_sts() -> _T:
        from botocore import exceptions as bce

        try:
            return fetch()
        except (bce.ConnectionError, bce.HTTPClientError) as err:
            endpoint = err.kwargs.get("endpoint_url") or "the default AWS endpoint"
            late = isinstance(err, bce.ConnectTimeoutError | bce.ReadTimeoutError)
            problem = (
                f"STS at {endpoint} did not answer in time" if late else f"cannot reach STS at {endpoint}"
            )
            msg = (
                f"{problem} to assume luigi.cfg [s3] aws_role_arn: check AWS_ENDPOINT_URL_STS "
                "(where STS is, if not AWS's) and that the server is up"
            )
            raise ConnectionError(msg) from err

    return fetch_naming_sts


def _resource(settings: S3Settings) -> Any:
    """Return the boto3 S3 resource for ``settings``, with timeouts that bound every call."""
    from botocore.config import Config

    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout_for(),
        retries={"mode": "standard", "total_max_attempts": settings.attempts_within_budget()},
    )
    options: dict[str, Any] = {"endpoint_url": settings.endpoint_url, "config": config}
    if settings.api_version:
        options["api_version"] = settings.api_version
    if settings.use_ssl is not None:
        options["use_ssl"] = settings.use_ssl
    if (verify := _verify(settings.verify)) is not None:
        options["verify"] = verify
    return _session(settings).resource("s3", **options)


@functools.cache
def _client_class() -> type[S3Client]:
    """Define the translating client on first use, so boto3 stays an optional extra."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        msg = "s3:// locations need boto3: install the 's3' extra (pip install 'csci-psets[s3]')"
        raise ImportError(msg) from None
    from luigi.contrib.s3 import S3Client

    class TranslatingS3Client(S3Client):
        """luigi's S3Client built from :class:`S3Settings`; failures come out as builtin errors."""

        _s3: Any = None  # set by luigi's S3Client.__init__; the resource is made on first use

        def __init__(self, settings: S3Settings) -> None:
            super().__init__()
            self.settings = settings

        @property
        def s3(self) -> Any:
            """Return the boto3 resource, made on first use (once, though task threads share the client)."""
            if self._s3 is None:
                with _RESOURCE_LOCK:  # making resources from one session is not thread-safe in boto3
                    if self._s3 is None:
                        self._s3 = _resource(self.settings)
            return self._s3

        @s3.setter
        def s3(self, value: Any) -> None:
            self._s3 = value

        exists = translated(S3Client.exists)
        isdir = translated(S3Client.isdir)
        get_key = translated(S3Client.get_key)
        remove = translated(S3Client.remove)
        put_multipart = translated_put(S3Client.put_multipart)
        put_string = translated_put(S3Client.put_string)
        get = translated(S3Client.get)
        get_as_bytes = translated(S3Client.get_as_bytes)
        mkdir = translated(S3Client.mkdir)

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


def boto_client(target: FileSystemTarget) -> Any:
    """Return the boto3 client behind an S3Target's luigi client."""
    return target.fs.s3.meta.client


def target_settings(target: FileSystemTarget) -> S3Settings | None:
    """Return the settings our storage layer attached to the target's client, if any."""
    settings = getattr(target.fs, "settings", None)
    return settings if isinstance(settings, S3Settings) else None


def s3_head(target: FileSystemTarget) -> tuple[int, str]:
    """Return an S3 target's object size and ETag (unquoted); FileNotFoundError if the key is missing."""
    bucket, key = split_s3_url(target.path)
    with translate_s3_errors(target.path, target_settings(target)):
        head = boto_client(target).head_object(Bucket=bucket, Key=key)
    return int(head["ContentLength"]), str(head.get("ETag", "")).strip('"')
