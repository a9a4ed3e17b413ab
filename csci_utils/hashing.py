"""Salted SHA-256 hashing of strings, one at a time or a whole column at once, and the course salt."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from csci_utils.environment import setting

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SaltError", "get_csci_salt", "get_user_id", "hash_series", "hash_str"]

SALT_VARIABLE = "CSCI_SALT"
_USER_ID_LENGTH = 8


class SaltError(ValueError):
    """``CSCI_SALT`` is missing or not hex; the message never contains its value."""


def _as_bytes(value: object, what: str) -> bytes:
    """Return ``value`` as bytes: str is UTF-8 encoded, bytes pass through, anything else is refused."""
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    msg = f"{what} must be str or bytes, got {type(value).__name__}"
    raise TypeError(msg)


def hash_str(some_val: str | bytes, salt: str | bytes = "") -> bytes:
    """Return the SHA-256 digest of ``salt + some_val``; str values are UTF-8 encoded first.

    :param some_val: the value to hash
    :param salt: a prefix that changes the outcome; str, bytes, or empty
    :raises TypeError: if either is not str or bytes

    ``hash_str('world!', salt='hello, ').hex()[:6] == '68e656'``
    """
    return hashlib.sha256(_as_bytes(salt, "salt") + _as_bytes(some_val, "value to hash")).digest()


def hash_series(series: pd.Series, salt: str | bytes = "") -> pd.Series:
    """Hash every value of ``series`` like :func:`hash_str`; same index and name, ``bytes`` digests.

    Byte-identical to ``series.map(lambda v: hash_str(v, salt))`` but faster: the salt is encoded once
    and the common all-str and all-bytes columns skip the per-value checks.

    :raises TypeError: naming the first label whose value is not str or bytes (missing values included)
    """
    import pandas as pd  # here, not at the top: hash_str users (CLIs, Luigi naming) should not pay its import

    prefix = _as_bytes(salt, "salt")
    values = series.to_numpy(dtype=object, na_value=None)
    sha256 = hashlib.sha256
    kinds = set(map(type, values))
    if kinds <= {str}:
        digests = [sha256(prefix + v.encode()).digest() for v in values]
    elif kinds <= {bytes}:
        digests = [sha256(prefix + v).digest() for v in values]
    else:
        digests = [
            sha256(prefix + _as_bytes(v, f"value at label {label!r}")).digest()
            for label, v in zip(series.index, values, strict=True)
        ]
    return pd.Series(digests, index=series.index, name=series.name, dtype=object)


def _salt_text() -> str:
    """Return ``CSCI_SALT`` by the project's rule (:mod:`csci_utils.environment`): environment, .env."""
    text = setting(SALT_VARIABLE)
    if text is None:
        msg = f"{SALT_VARIABLE} is not set; put its hex value in the environment or in a .env file"
        raise SaltError(msg)
    return text


def get_csci_salt() -> bytes:
    """Return the bytes of the hex-encoded salt in ``CSCI_SALT`` (environment first, then ``.env``).

    :raises SaltError: if the variable is missing, empty or not hex; the value is never shown
    """
    text = _salt_text()
    try:
        salt = bytes.fromhex(text)
    except ValueError:
        msg = f"{SALT_VARIABLE} must be hex digits, an even number of them (value not shown)"
        raise SaltError(msg) from None
    if not salt:
        msg = f"{SALT_VARIABLE} is empty; set it to the hex salt you were given"
        raise SaltError(msg)
    return salt


def get_user_id(username: str) -> str:
    """Return the first 8 hex digits of the salted hash of ``username.lower()``, salt from ``CSCI_SALT``.

    :raises TypeError: if ``username`` is not a str
    :raises SaltError: if the salt is missing or bad
    """
    if not isinstance(username, str):
        msg = f"username must be str, got {type(username).__name__}"
        raise TypeError(msg)
    return hash_str(username.lower(), salt=get_csci_salt()).hex()[:_USER_ID_LENGTH]
