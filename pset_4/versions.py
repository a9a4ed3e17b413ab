"""Whether a cached copy is still the version of the remote object that an output is named after.

Versions themselves come from :func:`csci_utils.luigi.storage.object_version`: content digests wherever the
store gives one cheaply, so any content change gives a new version.
"""

from __future__ import annotations

import os
from pathlib import Path

from csci_utils.luigi.storage import md5_of_file


def check_cached_copy(path: str | os.PathLike[str], version: str, source: str) -> None:
    """Raise ValueError if the cached file at ``path`` is not ``version`` of ``source`` (the remote changed).

    Multipart S3 uploads have no content digest; then only the size is compared.
    """
    local = Path(path)
    kind, _, rest = version.partition(":")
    if kind == "md5":
        same = md5_of_file(local) == rest
    else:
        same = rest.rpartition(":")[2] == str(local.stat().st_size)
    if not same:
        msg = (
            f"the cached copy {local} differs from {source}; delete the cached copy to use the remote's, "
            "or upload your version under a new name"
        )
        raise ValueError(msg)
