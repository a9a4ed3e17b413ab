"""One storage interface for local folders and S3 (kept for its imports; the code lives by concern).

- :mod:`csci_utils.luigi.locations`: ``target_for``, ``join``, ``list_names``;
- :mod:`csci_utils.luigi.versions`: ``ContentVersion``, ``content_version``, ``object_version``,
  ``md5_of_file``;
- :mod:`csci_utils.luigi.s3`: ``S3Settings``, ``translate_s3_errors``, ``split_s3_url``, ``s3_head``, the
  client, and multipart-upload clean-up.
"""

from __future__ import annotations

from csci_utils.luigi.locations import join, list_names, target_for
from csci_utils.luigi.s3.client import s3_client, s3_head
from csci_utils.luigi.s3.errors import split_s3_url, translate_s3_errors
from csci_utils.luigi.s3.settings import S3ConfigError, S3Settings
from csci_utils.luigi.versions import ContentVersion, content_version, md5_of_file, object_version

__all__ = [
    "ContentVersion",
    "S3ConfigError",
    "S3Settings",
    "content_version",
    "join",
    "list_names",
    "md5_of_file",
    "object_version",
    "s3_client",
    "s3_head",
    "split_s3_url",
    "target_for",
    "translate_s3_errors",
]
