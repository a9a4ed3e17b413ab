"""Whether a cached copy is still the version of the remote object that an output is named after.

Versions themselves are :class:`csci_utils.luigi.versions.ContentVersion` values (their string forms are
what output names hash): content digests wherever the store gives one cheaply, so any content change
gives a new version.
"""

from __future__ import annotations

import os
from pathlib import Path

from csci_utils.luigi.versions import ContentVersion


def check_cached_copy(path: str | os.PathLike[str], version: str | ContentVersion, source: str) -> None:
    """Raise ValueError if the cached file at ``path`` is not ``version`` of ``source`` (the remote changed).

    Multipart S3 uploads have no content digest; then only the size is compared. A ``version`` that is
    not one (the remote object was missing) never matches.
    """
    local = Path(path)
    if not _is_version_of(local, version):
        msg = (
            f"the cached copy {local} differs from {source}; delete the cached copy to use the remote's, "
            "or upload your version under a new name"
        )
        raise ValueError(msg)


def _is_version_of(local: Path, version: str | ContentVersion) -> bool:
    """Tell whether the file has the content ``version`` names; text that is no version never matches."""
    if isinstance(version, ContentVersion):
        return version.matches_file(local)
    try:
        return ContentVersion.parse(version).matches_file(local)
    except ValueError:
        return False
