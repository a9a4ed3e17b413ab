"""No multipart upload left behind: abort failed ones, retrying while the server is away; clean up stale ones.

A killed process or a cut network leaves uploads open, and S3 bills their parts until they are aborted.

One writer per key at a time is assumed (Luigi's scheduler runs a task once at a time): an upload of a key
that is open when we upload that key again is a leftover of an earlier attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from csci_utils.luigi.s3.client import s3_client
from csci_utils.luigi.s3.errors import as_oserror, split_s3_url, translate_s3_errors
from csci_utils.luigi.s3.settings import S3Settings

__all__ = ["OpenUpload", "abort_stale_uploads", "abort_uploads", "open_uploads", "select_stale"]

log = logging.getLogger(__name__)

_FIRST_PAUSE_S = 0.5
_LONGEST_PAUSE_S = 5.0


@dataclass(frozen=True)
class OpenUpload:
    """A multipart upload that was started and neither completed nor aborted."""

    bucket: str
    key: str
    upload_id: str
    initiated: datetime

    @property
    def url(self) -> str:
        """The ``s3://`` URL of the object it would have made."""
        return f"s3://{self.bucket}/{self.key}"


def _listed(boto: Any, bucket: str, prefix: str) -> Iterator[OpenUpload]:
    """Yield the open uploads of keys that start with ``prefix``."""
    for page in boto.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Uploads", []):
            yield OpenUpload(bucket, item["Key"], item["UploadId"], item["Initiated"])


def open_uploads(boto: Any, bucket: str, prefix: str, *, exact: bool = False) -> list[OpenUpload]:
    """Return the open multipart uploads under ``prefix`` (of exactly that key when ``exact``)."""
    return [u for u in _listed(boto, bucket, prefix) if not exact or u.key == prefix]


def select_stale(uploads: list[OpenUpload], *, older_than: timedelta, now: datetime) -> list[OpenUpload]:
    """Return the uploads started more than ``older_than`` before ``now`` (a timezone-aware time)."""
    cutoff = now - older_than
    return [upload for upload in uploads if upload.initiated <= cutoff]


def _abort(boto: Any, upload: OpenUpload) -> None:
    """Abort one upload; one that is already gone counts as aborted."""
    from botocore.exceptions import ClientError

    try:
        boto.abort_multipart_upload(Bucket=upload.bucket, Key=upload.key, UploadId=upload.upload_id)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") != "NoSuchUpload":
            raise


def abort_uploads(
    boto: Any,
    bucket: str,
    key: str,
    *,
    settings: S3Settings,
    only: frozenset[str] | None = None,
    retry_for: float = 0.0,
) -> int:
    """Abort the open uploads of exactly ``key`` (of the upload ids in ``only``, if given); best effort.

    Keeps trying for ``retry_for`` seconds while the server cannot be reached (a cut network cuts the
    abort too), pausing longer each time. Never raises for S3's sake: what is left is logged, and the
    next upload of the key, :func:`abort_stale_uploads` or the bucket's lifecycle rule removes it.

    :returns: how many uploads were aborted
    """
    url = f"s3://{bucket}/{key}"
    deadline = time.monotonic() + retry_for
    pause = _FIRST_PAUSE_S
    aborted = 0
    while True:
        try:
            for upload in open_uploads(boto, bucket, key, exact=True):
                if only is None or upload.upload_id in only:
                    _abort(boto, upload)
                    aborted += 1
            return aborted
        except Exception as err:
            translated = as_oserror(err, url, settings)
            if translated is None:
                raise
            if time.monotonic() + pause > deadline:
                log.warning("%s: could not abort its unfinished multipart upload (%s)", url, translated)
                return aborted
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE_S)


def abort_stale_uploads(
    prefix_url: str,
    *,
    older_than: timedelta = timedelta(hours=1),
    settings: S3Settings | None = None,
    dry_run: bool = False,
) -> list[OpenUpload]:
    """Abort the multipart uploads under ``prefix_url`` started more than ``older_than`` ago.

    ``older_than`` is measured against this machine's clock, so keep it well above any clock skew and
    above the longest upload still running (``timedelta(0)`` aborts every open upload under the prefix).

    :param prefix_url: ``s3://bucket`` or ``s3://bucket/prefix``; keys that start with the prefix count
    :param dry_run: list what would be aborted, abort nothing
    :returns: the uploads aborted (or, with ``dry_run``, that would be)
    :raises ValueError: for a URL that is not ``s3://BUCKET[/PREFIX]`` or a negative ``older_than``
    :raises FileNotFoundError: the bucket does not exist
    :raises PermissionError: missing or refused credentials
    :raises ConnectionError: the endpoint cannot be reached
    """
    if older_than < timedelta(0):
        msg = f"older_than must not be negative, got {older_than}"
        raise ValueError(msg)
    bucket, prefix = split_s3_url(prefix_url)
    settings = settings or S3Settings.resolve()
    boto = s3_client(settings).s3.meta.client
    now = datetime.now(UTC)
    with translate_s3_errors(prefix_url, settings):
        stale = select_stale(open_uploads(boto, bucket, prefix), older_than=older_than, now=now)
        if not dry_run:
            for upload in stale:
                _abort(boto, upload)
                log.info("aborted the unfinished upload of %s (started %s)", upload.url, upload.initiated)
    return stale
