"""Inputs of the workflow: images, models and style pictures on the remote (the source of truth), and copies.

Down: ``ContentImage``/``SavedModel``/``StyleImage`` are the remote objects (each a :class:`RemoteInput`,
which also says where a machine caches its copy), ``DownloadImage``/``DownloadModel``/``DownloadStyleImage``
copy them into the local cache. Up: ``LocalImage``/``LocalModel``/``LocalStyleImage`` are local files,
``UploadImage``/``UploadModel``/``UploadStyleImage`` push them to the remote if it lacks them. Every copy is
the reusable :class:`csci_utils.luigi.tasks.CopyTask`, so Luigi skips any transfer whose destination already
exists: a second run moves no bytes.

The spec's class attributes (``ContentImage.IMAGE_ROOT``, ``SavedModel.MODEL_ROOT``, ``S3_ROOT``,
``LOCAL_ROOT`` and ``SHARED_RELATIVE_PATH`` of the downloads) are read from the configured roots each time
they are asked for, so they follow ``--remote``/``$PSET4_REMOTE_ROOT``/luigi.cfg and name no bucket.

A stylize task downloads its inputs inside ``run()`` (:func:`cached_copy`): a cached copy counts only while it
is the version of the remote object its output is named after (:func:`check_cached_copy`). Versions are
:class:`csci_utils.luigi.versions.ContentVersion` values (content digests wherever the store gives one
cheaply, so any content change gives a new version).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

import luigi
from luigi.target import FileSystemTarget

from csci_utils.luigi.copy import copy_target
from csci_utils.luigi.locations import join, target_for
from csci_utils.luigi.tasks import CopyTask
from csci_utils.luigi.versions import ContentVersion
from pset_4.runtime.params import ParamsListedOnce
from pset_4.settings import (
    DEFAULT_IMAGE,
    DEFAULT_MODEL,
    IMAGES,
    MODELS,
    STYLE_IMAGES,
    WorkflowSettings,
    current_settings,
)
from pset_4.tasks.params import NameParameter

log = logging.getLogger(__name__)

_Value = TypeVar("_Value")


class configured_attribute(Generic[_Value]):
    """A class attribute computed from the current settings whenever it is read (on the class or a task)."""

    def __init__(self, compute: Callable[[WorkflowSettings], _Value]) -> None:
        """Compute the value with ``compute(current_settings())`` at each read."""
        self.compute = compute
        self.__doc__ = compute.__doc__

    def __get__(self, instance: object, owner: type | None = None) -> _Value:
        """Return the value for the settings in force now."""
        return self.compute(current_settings())


def _remote_root(settings: WorkflowSettings) -> str:
    """Return the remote root (``s3://bucket/prefix``, ``file://`` URL or folder) inputs live under."""
    return settings.remote_root


def _local_root(settings: WorkflowSettings) -> str:
    """Return this machine's cache folder as an absolute path (the spec's ``os.path.abspath('data')``)."""
    return str(Path(settings.cache_root).absolute())


def remote_location(folder: str, name: str) -> str:
    """Return the location of ``name`` under ``folder`` of the configured remote root."""
    return join(current_settings().remote_root, folder, name)


def cache_location(folder: str, name: str) -> str:
    """Return the location of ``name`` under ``folder`` of the configured local cache."""
    return join(current_settings().cache_root, folder, name)


class RemoteInput(ParamsListedOnce, luigi.ExternalTask):
    """An input on the remote, ``<remote>/<folder>/<name>``, cached at ``<cache>/<folder>/<name>``."""

    folder: ClassVar[str] = ""

    @property
    def input_name(self) -> str:
        """Return the input's file name under :attr:`folder` (its parameter)."""
        raise NotImplementedError

    def output(self) -> FileSystemTarget:
        """Return the remote object (binary)."""
        return target_for(remote_location(self.folder, self.input_name), binary=True)

    def cached_location(self) -> str:
        """Return where a machine keeps its copy of the input (the tasks download it there)."""
        return cache_location(self.folder, self.input_name)


class ContentImage(RemoteInput):
    """A content image on the remote: ``<remote>/images/<image>`` (``IMAGE_ROOT``/<image>)."""

    IMAGE_ROOT: configured_attribute[str] = configured_attribute(lambda s: join(s.remote_root, IMAGES))
    folder = IMAGES

    image = NameParameter(what="image", default=DEFAULT_IMAGE, description="file name under <remote>/images")

    @property
    def input_name(self) -> str:
        """Return the image's file name."""
        return str(self.image)


class SavedModel(RemoteInput):
    """A style model on the remote: ``<remote>/saved_models/<model>`` (.pth, .model or .onnx)."""

    MODEL_ROOT: configured_attribute[str] = configured_attribute(lambda s: join(s.remote_root, MODELS))
    folder = MODELS

    model = NameParameter(
        what="model", default=DEFAULT_MODEL, description="file name under <remote>/saved_models"
    )

    @property
    def input_name(self) -> str:
        """Return the model's file name."""
        return str(self.model)


class DownloadImage(CopyTask):
    """Copy a content image from the remote into ``<cache>/images/`` unless the cache has it."""

    S3_ROOT: configured_attribute[str] = configured_attribute(_remote_root)
    LOCAL_ROOT: configured_attribute[str] = configured_attribute(_local_root)
    SHARED_RELATIVE_PATH = IMAGES

    image = NameParameter(what="image", default=DEFAULT_IMAGE)

    def requires(self) -> luigi.Task:
        """Require the image on the remote."""
        return ContentImage(image=self.image)

    def output(self) -> FileSystemTarget:
        """Return the cached copy (binary)."""
        return target_for(cache_location(IMAGES, self.image), binary=True)


class DownloadModel(CopyTask):
    """Copy a model from the remote into ``<cache>/saved_models/`` unless the cache has it."""

    S3_ROOT: configured_attribute[str] = configured_attribute(_remote_root)
    LOCAL_ROOT: configured_attribute[str] = configured_attribute(_local_root)
    SHARED_RELATIVE_PATH = MODELS

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


class StyleImage(RemoteInput):
    """A style picture on the remote: ``<remote>/style_images/<style_image>`` (any photo or painting)."""

    STYLE_IMAGE_ROOT: configured_attribute[str] = configured_attribute(
        lambda s: join(s.remote_root, STYLE_IMAGES)
    )
    folder = STYLE_IMAGES

    style_image = NameParameter(what="style image", description="file name under <remote>/style_images")

    @property
    def input_name(self) -> str:
        """Return the style picture's file name."""
        return str(self.style_image)


class DownloadStyleImage(CopyTask):
    """Copy a style picture from the remote into ``<cache>/style_images/`` unless the cache has it."""

    S3_ROOT: configured_attribute[str] = configured_attribute(_remote_root)
    LOCAL_ROOT: configured_attribute[str] = configured_attribute(_local_root)
    SHARED_RELATIVE_PATH = STYLE_IMAGES

    style_image = NameParameter(what="style image")

    def requires(self) -> luigi.Task:
        """Require the style picture on the remote."""
        return StyleImage(style_image=self.style_image)

    def output(self) -> FileSystemTarget:
        """Return the cached copy (binary)."""
        return target_for(cache_location(STYLE_IMAGES, self.style_image), binary=True)


class LocalStyleImage(luigi.ExternalTask):
    """A style picture on this machine: ``source``, or ``<cache>/style_images/<style_image>`` by default."""

    style_image = NameParameter(what="style image")
    source = luigi.OptionalParameter(default=None, description="local path; default in the cache")

    def output(self) -> FileSystemTarget:
        """Return the local file (binary)."""
        return target_for(self.source or cache_location(STYLE_IMAGES, self.style_image), binary=True)


class UploadStyleImage(CopyTask):
    """Push a local style picture to ``<remote>/style_images/<style_image>`` if the remote lacks it."""

    style_image = NameParameter(what="style image")
    source = luigi.OptionalParameter(default=None, description="local path; default in the cache")

    def requires(self) -> luigi.Task:
        """Require the local file (checked only when the remote lacks the picture)."""
        return LocalStyleImage(style_image=self.style_image, source=self.source)

    def output(self) -> FileSystemTarget:
        """Return the remote object (binary)."""
        return target_for(remote_location(STYLE_IMAGES, self.style_image), binary=True)


def cached_copy(source: FileSystemTarget, path: str, version: str | ContentVersion) -> str:
    """Return ``path``, this machine's copy of ``source``, downloading it (atomically) if missing or stale.

    The remote is the source of truth: a cached copy that is not ``version`` (the remote object was replaced)
    is downloaded again.

    :raises ValueError: the remote changed again while it was being downloaded
    """
    if Path(path).is_file():
        try:
            check_cached_copy(path, version, source.path)
        except ValueError:
            log.info("the remote %s changed; downloading it again", source.path)
            Path(path).unlink(missing_ok=True)
    if not Path(path).is_file():
        copy_target(source, target_for(path, binary=True))
        check_cached_copy(path, version, source.path)
    return path


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
