"""Reusable copy tasks: any location to any location, atomic on the destination, streamed, verified.

The Luigi tasks only (the copying is :func:`csci_utils.luigi.copy.copy_target`). The general pattern
behind "download the model", "download the image" and "upload if missing": a task whose single
requirement outputs a file and whose own output is the same bytes somewhere else. Locations are strings
handed to :func:`csci_utils.luigi.locations.target_for`, so one task covers local folders and S3 in
either direction.

Up/Down (remote storage is the source of truth, local files are a cache)::

    ExternalFile(local) <- UploadIfMissing(local, remote) <- UpDown(local, remote)  (output: local)

:class:`UpDown` is complete when both copies exist. A laptop with only the local file uploads it; a CI
runner with only the bucket downloads it; a second run transfers nothing.
"""

from __future__ import annotations

import luigi
from luigi.target import FileSystemTarget, Target

from csci_utils.luigi.copy import copy_target
from csci_utils.luigi.locations import target_for

__all__ = ["CopyFile", "CopyTask", "DownloadIfMissing", "ExternalFile", "UpDown", "UploadIfMissing"]


class ExternalFile(luigi.ExternalTask):
    """A file that something outside the workflow provides, at a local path or ``s3://`` URL."""

    location = luigi.Parameter(description="path, file:// URL or s3:// URL of the file")

    def output(self) -> FileSystemTarget:
        """Return the file's binary target."""
        return target_for(self.location, binary=True)


class CopyTask(luigi.Task):
    """Copy the single target that :meth:`requires` outputs to :meth:`output`, atomically and verified.

    Subclasses give ``requires`` and ``output``; this is the whole "download the model / the image"
    pattern. Like every luigi task it is skipped when its output already exists.
    """

    def run(self) -> None:
        """Copy the input to the output."""
        copy_target(self._single_input(), self.output())

    def _single_input(self) -> Target:
        """Return the one input target, refusing a requirement with several outputs."""
        source = self.input()
        if not isinstance(source, Target):
            msg = f"{type(self).__name__} copies exactly one input target, got {type(source).__name__}"
            raise TypeError(msg)
        return source


class CopyFile(CopyTask):
    """Copy the file at ``source`` to ``destination`` (any locations) unless ``destination`` exists."""

    source = luigi.Parameter(description="location of the file to copy")
    destination = luigi.Parameter(description="location to write")

    def requires(self) -> luigi.Task:
        """Require the source to exist."""
        return ExternalFile(self.source)

    def output(self) -> FileSystemTarget:
        """Return the destination's binary target."""
        return target_for(self.destination, binary=True)


class UploadIfMissing(CopyTask):
    """Push the file at ``local`` to ``remote`` if the remote lacks it."""

    local = luigi.Parameter(description="path (or file:// URL) of the local file")
    remote = luigi.Parameter(description="s3:// URL (or any location) it belongs at")

    def requires(self) -> luigi.Task:
        """Require the local file to exist."""
        return ExternalFile(self.local)

    def output(self) -> FileSystemTarget:
        """Return the remote copy's binary target."""
        return target_for(self.remote, binary=True)


class DownloadIfMissing(CopyTask):
    """Fetch the file at ``remote`` into ``local`` if the local cache lacks it."""

    remote = luigi.Parameter(description="s3:// URL (or any location) of the file")
    local = luigi.Parameter(description="path (or file:// URL) of the local copy")

    def requires(self) -> luigi.Task:
        """Require the remote file to exist."""
        return ExternalFile(self.remote)

    def output(self) -> FileSystemTarget:
        """Return the local copy's binary target."""
        return target_for(self.local, binary=True)


class UpDown(CopyTask):
    """Make sure a file is both at ``remote`` (the source of truth) and at ``local`` (the cache).

    Output: the local file, so downstream tasks read it from disk. Complete when both copies exist.
    Otherwise it first requires :class:`UploadIfMissing` (which uploads only when the remote lacks the
    file), then downloads only when the local file is missing.
    """

    local = luigi.Parameter(description="path (or file:// URL) of the local copy")
    remote = luigi.Parameter(description="s3:// URL (or any location) of the shared copy")

    def requires(self) -> luigi.Task:
        """Require the remote copy, uploading the local file if the remote lacks it."""
        return UploadIfMissing(local=self.local, remote=self.remote)

    def output(self) -> FileSystemTarget:
        """Return the local copy's binary target."""
        return target_for(self.local, binary=True)

    def complete(self) -> bool:
        """Tell whether both the local and the remote copy exist."""
        return bool(self.output().exists() and self.input().exists())

    def run(self) -> None:
        """Download the remote copy unless the local file is already there."""
        if not self.output().exists():
            super().run()
