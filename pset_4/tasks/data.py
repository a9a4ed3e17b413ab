"""Inputs of the workflow: images and models on the remote (the source of truth) and their local copies.

Down: ``ContentImage``/``SavedModel`` are the remote objects, ``DownloadImage``/``DownloadModel`` copy them
into the local cache. Up: ``LocalImage``/``LocalModel`` are local files, ``UploadImage``/``UploadModel`` push
them to the remote if it lacks them. Every copy is the reusable :class:`csci_utils.luigi.tasks.CopyTask`, so
Luigi skips any transfer whose destination already exists: a second run moves no bytes.
"""

from __future__ import annotations

import luigi
from luigi.target import FileSystemTarget

from csci_utils.luigi.storage import join, target_for
from csci_utils.luigi.tasks import CopyTask
from pset_4.settings import DEFAULT_IMAGE, DEFAULT_MODEL, IMAGES, MODELS, resolve_settings
from pset_4.tasks.params import NameParameter


def remote_location(folder: str, name: str) -> str:
    """Return the location of ``name`` under ``folder`` of the configured remote root."""
    return join(resolve_settings().remote_root, folder, name)


def cache_location(folder: str, name: str) -> str:
    """Return the location of ``name`` under ``folder`` of the configured local cache."""
    return join(resolve_settings().cache_root, folder, name)


class ContentImage(luigi.ExternalTask):
    """A content image on the remote: ``<remote>/images/<image>``."""

    image = NameParameter(what="image", default=DEFAULT_IMAGE, description="file name under <remote>/images")

    def output(self) -> FileSystemTarget:
        """Return the remote object (binary)."""
        return target_for(remote_location(IMAGES, self.image), binary=True)


class SavedModel(luigi.ExternalTask):
    """A style model on the remote: ``<remote>/saved_models/<model>`` (.pth, .model or .onnx)."""

    model = NameParameter(
        what="model", default=DEFAULT_MODEL, description="file name under <remote>/saved_models"
    )

    def output(self) -> FileSystemTarget:
        """Return the remote object (binary)."""
        return target_for(remote_location(MODELS, self.model), binary=True)


class DownloadImage(CopyTask):
    """Copy a content image from the remote into ``<cache>/images/`` unless the cache has it."""

    image = NameParameter(what="image", default=DEFAULT_IMAGE)

    def requires(self) -> luigi.Task:
        """Require the image on the remote."""
        return ContentImage(image=self.image)

    def output(self) -> FileSystemTarget:
        """Return the cached copy (binary)."""
        return target_for(cache_location(IMAGES, self.image), binary=True)


class DownloadModel(CopyTask):
    """Copy a model from the remote into ``<cache>/saved_models/`` unless the cache has it."""

    model = NameParameter(what="model", default=DEFAULT_MODEL)

    def requires(self) -> luigi.Task:
        """Require the model on the remote."""
        return SavedModel(model=self.model)

    def output(self) -> FileSystemTarget:
        """Return the cached copy (binary)."""
        return target_for(cache_location(MODELS, self.model), binary=True)


class LocalImage(luigi.ExternalTask):
    """A content image on this machine: ``source``, or ``<cache>/images/<image>`` by default."""

    image = NameParameter(what="image", default=DEFAULT_IMAGE)
    source = luigi.OptionalParameter(default=None, description="local path; default in the cache")

    def output(self) -> FileSystemTarget:
        """Return the local file (binary)."""
        return target_for(self.source or cache_location(IMAGES, self.image), binary=True)


class LocalModel(luigi.ExternalTask):
    """A model on this machine: ``source``, or ``<cache>/saved_models/<model>`` by default."""

    model = NameParameter(what="model", default=DEFAULT_MODEL)
    source = luigi.OptionalParameter(default=None, description="local path; default in the cache")

    def output(self) -> FileSystemTarget:
        """Return the local file (binary)."""
        return target_for(self.source or cache_location(MODELS, self.model), binary=True)


class UploadImage(CopyTask):
    """Push a local content image to ``<remote>/images/<image>`` if the remote lacks it."""

    image = NameParameter(what="image", default=DEFAULT_IMAGE)
    source = luigi.OptionalParameter(default=None, description="local path; default in the cache")

    def requires(self) -> luigi.Task:
        """Require the local file (checked only when the remote lacks the image)."""
        return LocalImage(image=self.image, source=self.source)

    def output(self) -> FileSystemTarget:
        """Return the remote object (binary)."""
        return target_for(remote_location(IMAGES, self.image), binary=True)


class UploadModel(CopyTask):
    """Push a local model to ``<remote>/saved_models/<model>`` if the remote lacks it."""

    model = NameParameter(what="model", default=DEFAULT_MODEL)
    source = luigi.OptionalParameter(default=None, description="local path; default in the cache")

    def requires(self) -> luigi.Task:
        """Require the local file (checked only when the remote lacks the model)."""
        return LocalModel(model=self.model, source=self.source)

    def output(self) -> FileSystemTarget:
        """Return the remote object (binary)."""
        return target_for(remote_location(MODELS, self.model), binary=True)
