"""How to reach S3: luigi.cfg ``[s3]`` over the environment over a ``.env`` file, resolved once.

Every option of ``[s3]`` is either honoured or refused by name (:class:`S3ConfigError`), so a setting that
Luigi's own ``S3Client`` reads is never dropped silently.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import luigi.configuration

from csci_utils.environment import read_dotenv

__all__ = ["DEFAULT_PART_SIZE", "S3ConfigError", "S3Settings"]

MiB = 1024 * 1024
# S3's multipart part size: awscli's default, well above S3's 5 MiB minimum.
DEFAULT_PART_SIZE = 8 * MiB
# A server answers a part within this many seconds per MiB of it, plus the floor, or the call fails.
_READ_SECONDS_PER_MIB = 2.0
_READ_TIMEOUT_FLOOR = 10.0
# botocore's "standard" retry mode: its default attempts and its longest pause between two of them.
_DEFAULT_ATTEMPTS = 3
_MAX_BACKOFF = 20.0

_STRING_OPTIONS = {
    "endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "region_name": ("AWS_DEFAULT_REGION", "AWS_REGION"),
    "aws_access_key_id": ("AWS_ACCESS_KEY_ID",),
    "aws_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "aws_session_token": ("AWS_SESSION_TOKEN",),
    "aws_role_arn": (),
    "aws_role_session_name": (),
    "api_version": (),
    "verify": (),
}
_NUMBER_OPTIONS = ("connect_timeout", "read_timeout", "call_timeout", "abort_retry_seconds")
_ATTEMPT_OPTIONS = {"max_attempts": ("AWS_MAX_ATTEMPTS",)}
_BOOLEAN_OPTIONS = ("use_ssl",)
_KNOWN_OPTIONS = frozenset((*_STRING_OPTIONS, *_NUMBER_OPTIONS, *_ATTEMPT_OPTIONS, *_BOOLEAN_OPTIONS))


class S3ConfigError(ValueError):
    """A luigi.cfg ``[s3]`` option or an S3 setting is unknown or malformed; the message names it."""


class _Search(enum.Enum):
    """Marker for "find the ``.env`` file by the project's rule"."""

    SEARCH = "search"


@dataclass(frozen=True)
class S3Settings:
    """How to reach S3. ``None`` leaves a value to boto3's own lookup (``~/.aws``, instance roles).

    Credentials are kept out of ``repr`` and of every message. Timeouts are in seconds:
    ``connect_timeout`` to open a connection; ``read_timeout`` for the server to answer once a request
    is sent (default: 10 s plus 2 s per MiB of part, see :meth:`read_timeout_for`); ``call_timeout`` the
    most one S3 call may take against a dead endpoint, retries included (it caps ``max_attempts``);
    ``abort_retry_seconds`` how long a failed multipart upload keeps trying to abort itself.
    """

    endpoint_url: str | None = None
    region_name: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    aws_role_arn: str | None = None
    aws_role_session_name: str | None = None
    api_version: str | None = None
    verify: str | None = None
    use_ssl: bool | None = None
    connect_timeout: float = 5.0
    read_timeout: float | None = None
    call_timeout: float = 90.0
    max_attempts: int = _DEFAULT_ATTEMPTS
    abort_retry_seconds: float = 30.0

    def __post_init__(self) -> None:
        """Refuse settings that cannot work, naming them."""
        if bool(self.aws_role_arn) != bool(self.aws_role_session_name):
            given, missing = (
                ("aws_role_arn", "aws_role_session_name")
                if self.aws_role_arn
                else ("aws_role_session_name", "aws_role_arn")
            )
            msg = f"luigi.cfg [s3] {given} needs {missing} too (both name the role to assume)"
            raise S3ConfigError(msg)
        for name in ("connect_timeout", "call_timeout"):
            if getattr(self, name) <= 0:
                raise S3ConfigError(f"luigi.cfg [s3] {name} must be a positive number of seconds")
        if self.read_timeout is not None and self.read_timeout <= 0:
            raise S3ConfigError("luigi.cfg [s3] read_timeout must be a positive number of seconds")
        if self.abort_retry_seconds < 0:
            raise S3ConfigError("luigi.cfg [s3] abort_retry_seconds must be 0 or more seconds")
        if self.max_attempts < 1:
            raise S3ConfigError("luigi.cfg [s3] max_attempts (or AWS_MAX_ATTEMPTS) must be at least 1")

    @classmethod
    def resolve(
        cls,
        *,
        config: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
        dotenv_path: str | os.PathLike[str] | _Search | None = _Search.SEARCH,
    ) -> S3Settings:
        """Build settings from luigi.cfg ``[s3]`` (or ``config``), ``environ`` and a ``.env`` file.

        :param config: the ``[s3]`` section's options; default: luigi's loaded configuration
        :param environ: environment variables; default :data:`os.environ`
        :param dotenv_path: a ``.env`` file to read (never loaded into the environment); default: the one
            :mod:`csci_utils.environment` finds from the working directory upward; ``None`` to skip it
        :raises S3ConfigError: naming an unknown option (one Luigi's S3Client reads that we do not
            support) or a malformed value
        """
        section = dict(_luigi_s3_section() if config is None else config)
        unknown = sorted(set(section) - _KNOWN_OPTIONS)
        if unknown:
            msg = (
                f"luigi.cfg [s3] option {unknown[0]!r} is not supported; "
                f"remove it or use one of: {', '.join(sorted(_KNOWN_OPTIONS))}"
            )
            raise S3ConfigError(msg)
        env = dict(os.environ if environ is None else environ)
        dotenv: dict[str, str] = {}
        if dotenv_path is not None:
            dotenv = read_dotenv(None if dotenv_path is _Search.SEARCH else dotenv_path)

        def pick(key: str, names: tuple[str, ...]) -> str | None:
            if section.get(key):
                return str(section[key])
            for mapping in (env, dotenv):
                for name in names:
                    if mapping.get(name):
                        return mapping[name]
            return None

        values: dict[str, Any] = {key: pick(key, names) for key, names in _STRING_OPTIONS.items()}
        for key in _NUMBER_OPTIONS:
            if section.get(key):
                values[key] = _number(key, section[key])
        for key, names in _ATTEMPT_OPTIONS.items():
            if (text := pick(key, names)) is not None:
                values[key] = _attempts(key, text)
        for key in _BOOLEAN_OPTIONS:
            if section.get(key):
                values[key] = _boolean(key, section[key])
        return cls(**values)

    @property
    def endpoint_name(self) -> str:
        """The endpoint for messages: the configured URL, or AWS's own."""
        return self.endpoint_url or "the default AWS endpoint"

    def read_timeout_for(self, part_size: int = DEFAULT_PART_SIZE) -> float:
        """Return the read timeout: the configured one, else 10 s plus 2 s per MiB of ``part_size``."""
        if self.read_timeout is not None:
            return self.read_timeout
        return _READ_TIMEOUT_FLOOR + _READ_SECONDS_PER_MIB * part_size / MiB

    def attempts_within_budget(self, part_size: int = DEFAULT_PART_SIZE) -> int:
        """Return how many attempts one call may make so that, timing out each time, it ends in budget.

        Each attempt may take ``connect_timeout + read_timeout``; botocore waits up to ``2**n`` seconds
        (at most 20) before attempt ``n + 1``. At least one attempt is always made.
        """
        per_attempt = self.connect_timeout + self.read_timeout_for(part_size)
        attempts, spent = 1, per_attempt
        while attempts < self.max_attempts:
            spent += min(_MAX_BACKOFF, 2.0**attempts) + per_attempt
            if spent > self.call_timeout:
                break
            attempts += 1
        return attempts


def _luigi_s3_section() -> dict[str, str]:
    """Return luigi.cfg's ``[s3]`` options (not those inherited from ``[DEFAULT]``), or none."""
    config = luigi.configuration.get_config()
    if not config.has_section("s3"):
        return {}
    defaults = dict(config.defaults())
    return {
        key: str(config.get("s3", key))
        for key in config.options("s3")
        if key not in defaults or config.get("s3", key) != defaults[key]
    }


def _number(key: str, text: str) -> float:
    """Parse a number of seconds, naming the option when it is not one."""
    try:
        return float(text)
    except ValueError:
        raise S3ConfigError(f"luigi.cfg [s3] {key} must be a number of seconds, got {text!r}") from None


def _attempts(key: str, text: str) -> int:
    """Parse a count of attempts, naming the option when it is not one."""
    try:
        return int(text)
    except ValueError:
        msg = f"[s3] {key} (or AWS_MAX_ATTEMPTS) must be a whole number, got {text!r}"
        raise S3ConfigError(msg) from None


def _boolean(key: str, text: str) -> bool:
    """Parse a luigi.cfg boolean, naming the option when it is not one."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise S3ConfigError(f"luigi.cfg [s3] {key} must be true or false, got {text!r}")
