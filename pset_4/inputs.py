"""What a command line's ``-i`` and ``--style-image`` values name: remote names, quoted globs, local files.

A value is, in this order:

- a name the remote has under its folder (``<remote>/images/<name>``): used as is;
- a glob (``*``, ``?`` or ``[``) matched against the remote's names (also on S3), sorted; one that matches
  nothing is refused, listing what the remote has;
- a local path (it has a separator, or names an existing file or folder): its photos are uploaded to the
  remote under their file names before the batch, said on stderr and in the summary;
- any other name: left for the batch's own check (this machine's cache may have it, else it is refused).

Local files are checked with Pillow before anything is uploaded (a header read, no decoding): one that is
not an image or is a decompression bomb is skipped with a one-line reason and the rest are still done.
"""

from __future__ import annotations

import fnmatch
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from csci_utils.luigi.storage import join, list_names, object_version, target_for
from pset_4.cached_copies import check_cached_copy
from pset_4.naming import check_name
from pset_4.settings import WorkflowSettings

__all__ = ["BadInputError", "Resolved", "is_glob", "remote_names", "resolve_names"]

_GLOB_CHARS = frozenset("*?[")


class BadInputError(ValueError):
    """Every local file given was unusable (not an image, a decompression bomb): nothing to do."""


@dataclass
class Resolved:
    """The names a batch uses, the local files to upload under them first, and the files skipped (why)."""

    names: list[str] = field(default_factory=list)
    uploads: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def is_glob(value: str) -> bool:
    """Tell whether ``value`` is a pattern (``*``, ``?`` or ``[``) rather than a name."""
    return any(char in _GLOB_CHARS for char in value)


def remote_names(settings: WorkflowSettings, folder: str) -> list[str]:
    """Return the names the remote has under ``folder`` (temp and hidden files left out), sorted."""
    return [n for n in list_names(join(settings.remote_root, folder)) if not n.startswith(".")]


def resolve_names(
    values: Sequence[str], folder: str, settings: WorkflowSettings, *, what: str, every: bool = False
) -> Resolved:
    """Return what ``values`` name under ``<remote>/<folder>`` (``every``: all the remote has, too).

    :raises FileNotFoundError: a glob matches nothing, a local path does not exist, a folder has no photos
    :raises ValueError: a local file's name is unsafe, or the remote holds a different file of that name
    """
    found = Resolved()
    if not values and not every:
        return found
    have = remote_names(settings, folder)
    if every:
        if not have:
            msg = f"--all-images: {join(settings.remote_root, folder)} has no {what}s"
            raise FileNotFoundError(msg)
        found.names += have
    for value in values:
        if value in have:
            found.names.append(value)
        elif _is_local_path(value):
            _add_local(Path(value), folder, settings, what, found)
        elif is_glob(value):
            matched = fnmatch.filter(have, value)
            if not matched:
                msg = (
                    f"no {what} in {join(settings.remote_root, folder)} matches {value!r} ({_listing(have)})"
                )
                raise FileNotFoundError(msg)
            found.names += matched
        else:
            found.names.append(check_name(value, what))
    found.names = list(dict.fromkeys(found.names))
    return found


def _is_local_path(value: str) -> bool:
    """Tell whether ``value`` names a local file or folder rather than a remote name."""
    return "/" in value or os.sep in value or Path(value).exists()


def _add_local(path: Path, folder: str, settings: WorkflowSettings, what: str, found: Resolved) -> None:
    """Add the photo at ``path`` (or every photo of the folder ``path``) to upload under its own name."""
    if path.is_dir():
        from neural_style.batch import photos_in

        files = photos_in(path)
        if not files:
            msg = f"no photos in {path} (looked for files Pillow can read, such as .jpg and .png)"
            raise FileNotFoundError(msg)
    elif path.is_file():
        files = [path]
    else:
        msg = f"{what} {str(path)!r} is neither a name on the remote nor a local file or folder"
        raise FileNotFoundError(msg)
    for file in files:
        name = check_name(file.name, what)
        reason = picture_problem(file)
        if reason is not None:
            found.skipped[str(file)] = reason
            continue
        earlier = found.uploads.get(name)
        if earlier is not None and Path(earlier).resolve() != file.resolve():
            msg = f"two local {what}s are both named {name!r} ({earlier} and {file}); rename one"
            raise ValueError(msg)
        _check_remote_copy(file, name, folder, settings, what)
        found.uploads[name] = str(file)
        found.names.append(name)


def picture_problem(path: Path) -> str | None:
    """Return why ``path`` is no usable picture (not an image, a decompression bomb), or None if it is."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                opened.size  # noqa: B018 - reading the header is the check
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return f"{path} is too large to decode safely (a possible decompression bomb)"
    except UnidentifiedImageError:
        return f"{path} is not an image file Pillow can read"
    except OSError as err:
        return f"{path} cannot be read: {err}"
    return None


def _check_remote_copy(file: Path, name: str, folder: str, settings: WorkflowSettings, what: str) -> None:
    """Refuse to stand a local file in for a different one the remote already holds under its name."""
    remote = target_for(join(settings.remote_root, folder, name), binary=True)
    version = object_version(remote)
    if version is None:
        return
    try:
        check_cached_copy(file, version, str(remote.path))
    except ValueError:
        msg = (
            f"{remote.path} already holds a different {what} named {name!r}; rename {file} to upload it "
            "(the remote is the source of truth and is never overwritten)"
        )
        raise ValueError(msg) from None


def _listing(have: Sequence[str]) -> str:
    """Return what the remote has, for an error message."""
    if not have:
        return "it has nothing; `python -m pset_4 --demo` seeds a sample"
    return "it has: " + ", ".join(have)
