"""Stylize a content image with a model, in this process (default) or through ``python -m neural_style eval``.

Outputs are versioned: their names carry a salted hash of the parameters, the engine's version and the
remote inputs' versions (:mod:`pset_4.naming`), so a changed input, parameter or engine gives a new file and
an unchanged rerun finds its output and does nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import luigi
from luigi.contrib.external_program import ExternalProgramTask
from luigi.target import FileSystemTarget

import neural_style
from csci_utils.luigi.storage import join, object_version, target_for
from csci_utils.luigi.target import SuffixPreservingLocalTarget
from csci_utils.luigi.tasks import CopyTask
from pset_4.model_cache import stylize_into
from pset_4.naming import stylized_name
from pset_4.settings import DEFAULT_IMAGE, DEFAULT_MODEL, STYLIZED, resolve_settings
from pset_4.tasks.data import ContentImage, DownloadImage, DownloadModel, SavedModel
from pset_4.tasks.params import NameParameter, StyleParameter
from pset_4.versions import check_cached_copy

log = logging.getLogger(__name__)

# Used while an input is not on the remote yet: the task cannot run then (its input is missing), and the
# real name is computed again once it is.
_MISSING = "missing"


class StylizeBase(luigi.Task):
    """What every way of stylizing shares: parameters, requirements and the versioned output."""

    image = NameParameter(
        what="image", default=DEFAULT_IMAGE, description="content image under <remote>/images"
    )
    model = NameParameter(
        what="model", default=DEFAULT_MODEL, description="model under <remote>/saved_models"
    )
    style = StyleParameter(default=None, description="style index or blend of a multi-style model")

    def requires(self) -> dict[str, luigi.Task]:
        """Require the local copies of the image and the model."""
        return {"image": DownloadImage(image=self.image), "model": DownloadModel(model=self.model)}

    def remote_inputs(self) -> dict[str, FileSystemTarget]:
        """Return the remote objects the inputs are copies of."""
        # Luigi asks for the output (so for these) several times per run; build the targets once per root.
        root = resolve_settings().remote_root
        cached = self.__dict__.get("_remote_inputs")
        if cached is None or cached[0] != root:
            targets = {
                "image": ContentImage(image=self.image).output(),
                "model": SavedModel(model=self.model).output(),
            }
            cached = self._remote_inputs = (root, targets)
        return cached[1]

    def versions(self) -> dict[str, str]:
        """Return what the output depends on besides the parameters: engine and remote input versions."""
        found = {key: object_version(target) or _MISSING for key, target in self.remote_inputs().items()}
        return {"engine": neural_style.__version__, **found}

    def check_inputs(self, versions: dict[str, str]) -> None:
        """Raise ValueError if a cached input is not the remote version the output is named after."""
        remote = self.remote_inputs()
        for key, target in self.input().items():
            check_cached_copy(target.path, versions[key], remote[key].path)

    def output_name(self, versions: dict[str, str] | None = None) -> str:
        """Return the versioned file name of the result."""
        return stylized_name(self.image, self.model, self.style, versions=versions or self.versions())

    def output(self, versions: dict[str, str] | None = None) -> SuffixPreservingLocalTarget:
        """Return ``<cache>/stylized/<versioned name>``."""
        path = Path(resolve_settings().cache_root, STYLIZED, self.output_name(versions))
        return SuffixPreservingLocalTarget(os.fspath(path), format=luigi.format.Nop)

    def checked_output(self) -> SuffixPreservingLocalTarget:
        """Return the output for the remote versions the cached inputs are verified to match."""
        versions = self.versions()
        self.check_inputs(versions)
        return self.output(versions)

    def on_failure(self, exception: BaseException) -> str:
        """Report a user's mistake (bad image, bad model) in one line instead of a traceback."""
        if isinstance(exception, (ValueError, OSError)):
            return f"{self} failed: {exception}"
        return super().on_failure(exception)


class Stylize(StylizeBase):
    """Stylize in this process with :mod:`neural_style.engine` (the spec's option B)."""

    def run(self) -> None:
        """Write the stylized image atomically through the target's ``temporary_path()``."""
        inputs = self.input()
        output = self.checked_output()
        started = time.perf_counter()
        with output.temporary_path() as temp_output_path:
            stylize_into(inputs["image"].path, inputs["model"].path, temp_output_path, style=self.style)
        log.info("stylized %s in %.2f s -> %s", self, time.perf_counter() - started, output.path)


class StylizeProgram(StylizeBase, ExternalProgramTask):
    """Stylize by running ``python -m neural_style eval`` (option A); same output as ``Stylize``."""

    temp_output_path: str = ""

    def program_args(self) -> list[str]:
        """Return the command line of the engine's ``eval``."""
        inputs = self.input()
        args = [
            sys.executable,
            "-m",
            "neural_style",
            "eval",
            "--content-image",
            inputs["image"].path,
            "--model",
            inputs["model"].path,
            "--output-image",
            self.temp_output_path,
            "--cuda",
            "0",
        ]
        if self.style is not None:
            args += ["--style", self.style]
        return args

    def run(self) -> None:
        """Run the program with its output pointed at the target's temp path, then publish it."""
        with self.checked_output().temporary_path() as self.temp_output_path:
            super().run()


class PublishStylized(CopyTask):
    """Copy a stylized image to ``<remote>/stylized/<versioned name>`` unless it is there already."""

    image = NameParameter(what="image", default=DEFAULT_IMAGE)
    model = NameParameter(what="model", default=DEFAULT_MODEL)
    style = StyleParameter(default=None)

    def requires(self) -> Stylize:
        """Require the local result."""
        return Stylize(image=self.image, model=self.model, style=self.style)

    def output(self) -> FileSystemTarget:
        """Return the remote object (binary)."""
        return target_for(
            join(resolve_settings().remote_root, STYLIZED, self.requires().output_name()), binary=True
        )
