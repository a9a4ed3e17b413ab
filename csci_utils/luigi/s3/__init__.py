"""S3 support: settings, error translation, the client, and multipart-upload housekeeping.

:mod:`.settings`, :mod:`.errors`, :mod:`.client`, :mod:`.uploads` (command: :mod:`.cli`).

Importing this package does not import boto3; the first client made does.
"""

from csci_utils.luigi.s3.client import boto_client, s3_client, s3_head, target_settings
from csci_utils.luigi.s3.errors import split_s3_url, translate_s3_errors
from csci_utils.luigi.s3.settings import DEFAULT_PART_SIZE, S3ConfigError, S3Settings
from csci_utils.luigi.s3.uploads import OpenUpload, abort_stale_uploads, abort_uploads, open_uploads

__all__ = [
    "DEFAULT_PART_SIZE",
    "OpenUpload",
    "S3ConfigError",
    "S3Settings",
    "abort_stale_uploads",
    "abort_uploads",
    "boto_client",
    "open_uploads",
    "s3_client",
    "s3_head",
    "split_s3_url",
    "target_settings",
    "translate_s3_errors",
]
