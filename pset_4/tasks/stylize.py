"""Stylize a photo with a model or a style picture, in this process or via ``python -m neural_style eval``.

The rule that lets machines share a batch through one central scheduler: a task whose id the scheduler shares
has an output every worker sees. So :class:`Stylize` requires the *remote* image and model, and its output is
the *published* result on the remote; the machine that does the work downloads its inputs into its own cache
inside ``run()`` (atomically, checked against the remote version), stylizes into its cache, then publishes.
The cache is a detail of the machine doing the work; no shared task depends on another machine's files.

With ``style_image`` the style comes from a picture under ``<remote>/style_images/`` (the any-picture
networks) instead of a model; ``model`` and ``style`` are then not used (``style`` is refused). ``strength``
and ``preserve_color`` apply to both kinds.

Outputs are versioned: their names carry a salted hash of the parameters, the output pixels' version and the
remote inputs' versions (:mod:`pset_4.naming`), so a changed input, parameter or engine gives a new file and
an unchanged rerun finds its output and does nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path, PurePosixPath

import luigi
from luigi.contrib.external_program import ExternalProgramTask
from luigi.target import FileSystemTarget

import neural_style
from csci_utils.luigi.copy import copy_target
from csci_utils.luigi.locations import join, target_for
from csci_utils.luigi.target import SuffixPreservingLocalTarget
from csci_utils.luigi.versions import object_version
from neural_style.image import check_image_file
from pset_4.failures import ExplainsFailures
from pset_4.naming import stylized_name
from pset_4.render import render_picture, stylizer_for
from pset_4.runtime.params import ParamsListedOnce
from pset_4.settings import (
    DEFAULT_IMAGE,
    DEFAULT_MODEL,
    IMAGES,
    MODELS,
    STYLE_IMAGES,
    STYLIZED,
    current_settings,
)
from pset_4.tasks.data import ContentImage, SavedModel, StyleImage, cache_location, cached_copy
from pset_4.tasks.params import NameParameter, OptionalNameParameter, StrengthParameter, StyleParameter

log = logging.getLogger(__name__)

# Used while an input is not on the remote yet: the task cannot run then (its input is missing), and the
# real name is computed again once it is.
_MISSING = "missing"
_CACHE_FOLDERS = {"image": IMAGES, "model": MODELS, "style_image": STYLE_IMAGES}


def _computes_in_bf16(model: str) -> bool:
    """Return True if this machine runs ``model`` in bf16 (a checkpoint on a CPU with native bf16)."""
    from neural_style.hardware import resolve_precision

    return PurePosixPath(model).suffix.lower() != ".onnx" and resolve_precision("auto") == "bf16"


class StylizeBase(ParamsListedOnce, ExplainsFailures, luigi.Task):
    """What every way of stylizing shares: parameters, remote requirements, cached inputs, versioned names."""

    image = NameParameter(
        what="image", default=DEFAULT_IMAGE, description="content image under <remote>/images"
    )
    model = NameParameter(
        what="model", default=DEFAULT_MODEL, description="model under <remote>/saved_models"
    )
    style = StyleParameter(default=None, description="style index or blend of a multi-style model")
    style_image = OptionalNameParameter(
        what="style image",
        default=None,
        description="picture under <remote>/style_images to take the style from (instead of the model)",
    )
    strength = StrengthParameter(default=1.0, description="0..1: how much style (1: full style)")
    preserve_color = luigi.BoolParameter(default=False, description="keep the photo's colours")

    def __init__(self, *args: object, **kwargs: object) -> None:
        """Refuse a style index together with a style picture (it picks a style of a model)."""
        super().__init__(*args, **kwargs)
        if self.style_image and self.style is not None:
            msg = "--style picks a style of a multi-style model; it cannot be used with --style-image"
            raise ValueError(msg)

    def input_tasks(self) -> dict[str, luigi.ExternalTask]:
        """Return the remote inputs: the image, and the model or the style picture."""
        style: luigi.ExternalTask
        if self.style_image:
            key, style = "style_image", StyleImage(style_image=self.style_image)
        else:
            key, style = "model", SavedModel(model=self.model)
        return {"image": ContentImage(image=self.image), key: style}

    def requires(self) -> dict[str, luigi.ExternalTask]:
        """Require the image and the model (or style picture) on the remote (every machine sees them)."""
        return self.input_tasks()

    def remote_inputs(self) -> dict[str, FileSystemTarget]:
        """Return the remote objects the inputs are."""
        # Luigi asks for the output (so for these) several times per run; build the targets once per root.
        root = current_settings().remote_root
        cached = self.__dict__.get("_remote_inputs")
        if cached is None or cached[0] != root:
            targets = {key: task.output() for key, task in self.input_tasks().items()}
            cached = self._remote_inputs = (root, targets)
        return cached[1]

    def versions(self, *, fresh: bool = False) -> dict[str, str]:
        """Return what the output depends on besides the parameters: pixels and remote input versions.

        Luigi asks whether a task is complete (so for its output's versioned name) several times per run;
        the remote's versions are read once per run for those questions (one stat or HEAD per input, not
        eight). ``fresh=True``, as :meth:`run` asks, reads them again: the name a result is made under is
        always the remote's state when it is made.
        """
        settings = current_settings()
        remembered = self.__dict__.get("_versions")
        if not fresh and remembered is not None and remembered[0] is settings:
            return dict(remembered[1])
        found = {key: object_version(target) or _MISSING for key, target in self.remote_inputs().items()}
        versions = {"engine": neural_style.PIXELS_VERSION, **found}
        if not self.style_image and _computes_in_bf16(self.model):
            # --precision auto gives checkpoints bf16 pixels on CPUs with native bf16: name them apart, so
            # machines of different kinds sharing a remote never take each other's pixels for their own.
            versions["precision"] = "bf16"
        self._versions = (settings, versions)
        return dict(versions)

    def cached_inputs(self, versions: dict[str, str]) -> dict[str, str]:
        """Return this machine's copies of the inputs, downloading what its cache lacks or has stale.

        The remote is the source of truth: a cached copy that is not the version the output is named
        after (the remote object was replaced) is downloaded again, atomically.

        :raises ValueError: the remote changed again while it was being downloaded
        """
        return {
            key: cached_copy(source, cache_location(_CACHE_FOLDERS[key], getattr(self, key)), versions[key])
            for key, source in self.remote_inputs().items()
        }

    def output_name(self, versions: dict[str, str] | None = None) -> str:
        """Return the versioned file name of the result."""
        return stylized_name(
            self.image,
            self.model,
            self.style,
            versions=versions or self.versions(),
            style_image=self.style_image,
            strength=self.strength,
            preserve_color=self.preserve_color,
        )

    def cached_output(self, versions: dict[str, str] | None = None) -> SuffixPreservingLocalTarget:
        """Return this machine's copy of the result: ``<cache>/stylized/<versioned name>``."""
        path = Path(current_settings().cache_root, STYLIZED, self.output_name(versions))
        return SuffixPreservingLocalTarget(os.fspath(path), format=luigi.format.Nop)

    def published_output(self, versions: dict[str, str] | None = None) -> FileSystemTarget:
        """Return the published result: ``<remote>/stylized/<versioned name>``."""
        versions = versions or self.versions()
        # Luigi asks for the output several times per task; the target is made once per name.
        key = (current_settings().remote_root, tuple(versions.items()))
        remembered = self.__dict__.get("_published")
        if remembered is None or remembered[0] != key:
            location = join(key[0], STYLIZED, self.output_name(versions))
            remembered = self._published = (key, target_for(location, binary=True))
        return remembered[1]

    def output(self) -> FileSystemTarget:
        """Return the published result, which every machine sharing the remote sees."""
        return self.published_output()

    def run(self) -> None:
        """Download the inputs this machine lacks, stylize into its cache, then publish to the remote."""
        versions = self.versions(fresh=True)
        inputs = self.cached_inputs(versions)
        local = self.cached_output(versions)
        if not self.has_complete_result(local.path):
            started = time.perf_counter()
            with local.temporary_path() as temp_output_path:
                self.render(inputs, temp_output_path)
                # Checked before it takes its final name, so only a complete result is ever cached or
                # published: its name is versioned, and every machine would take it as done for good.
                self.check_result(temp_output_path)
            seconds = time.perf_counter() - started
            log.info("stylized %s in %.2f s -> %s", self.describe(), seconds, local.path)
        published = self.output_for(versions)
        if published.path != local.path:
            copy_target(local, published)

    def describe(self) -> str:
        """Return what this task makes in words, for progress lines: ``photo.jpg with m.onnx style 9``."""
        style = f"the picture {self.style_image}" if self.style_image else self.model
        if self.style is not None:
            style += f" style {self.style}"
        extras = [f"strength {self.strength:g}"] if self.strength != 1.0 else []
        extras += ["the photo's colours"] if self.preserve_color else []
        return f"{self.image} with {style}" + (f" ({', '.join(extras)})" if extras else "")

    def check_result(self, path: str) -> None:
        """Raise if the result file at ``path`` is incomplete (it must decode to its last byte)."""
        check_image_file(path)

    def has_complete_result(self, path: str) -> bool:
        """Whether ``path`` holds a result that passes :meth:`check_result`.

        An incomplete one is removed, so that it is made again, never published.
        """
        if not Path(path).exists():
            return False
        try:
            self.check_result(path)
        except (ValueError, OSError) as err:
            log.warning("making %s again: the cached copy is incomplete (%s)", Path(path).name, err)
            Path(path).unlink(missing_ok=True)
            return False
        return True

    def output_for(self, versions: dict[str, str]) -> FileSystemTarget:
        """Return where :meth:`run` leaves the result for ``versions`` (the published object here)."""
        return self.published_output(versions)

    def render(self, inputs: dict[str, str], output_path: str) -> None:
        """Write the stylized picture of the cached ``inputs`` to ``output_path`` (a temp path)."""
        stylizer = stylizer_for(self, inputs, threads=current_settings().engine_threads)
        render_picture(stylizer, inputs["image"], output_path)

    def failure_line(self, exception: BaseException) -> str | None:
        """Report a user's mistake (bad image, bad model) in one line instead of a traceback."""
        if isinstance(exception, (ValueError, OSError)):
            return f"{self} failed: {exception}"
        return None


class Stylize(StylizeBase):
    """Stylize in this process with :mod:`neural_style.loading` (the spec's option B) and publish."""


class StylizeHere(StylizeBase):
    """Stylize into this machine's cache only (``--no-publish``): an output no other machine sees.

    Its id is not machine-specific, so run it with this machine's own scheduler, never a shared luigid.
    """

    def output(self) -> SuffixPreservingLocalTarget:
        """Return the cached result."""
        return self.cached_output()

    def output_for(self, versions: dict[str, str]) -> FileSystemTarget:
        """Return the cached result: nothing is published."""
        return self.cached_output(versions)


class StylizeProgram(StylizeBase, ExternalProgramTask):
    """Stylize by running ``python -m neural_style eval`` (option A); same output as ``Stylize``."""

    temp_output_path: str = ""
    program_inputs: dict[str, str] = {}  # noqa: RUF012 - set per run by render()

    def program_args(self) -> list[str]:
        """Return the command line of the engine's ``eval``."""
        inputs = self.program_inputs
        args = [sys.executable, "-m", "neural_style", "eval", "--content-image", inputs.get("image", "")]
        if self.style_image:
            args += ["--style-image", inputs.get("style_image", "")]
        else:
            args += ["--model", inputs.get("model", "")]
        args += ["--output-image", self.temp_output_path, "--cuda", "0"]
        if self.style is not None:
            args += ["--style", self.style]
        if self.strength != 1.0:
            args += ["--strength", repr(self.strength)]
        if self.preserve_color:
            args.append("--preserve-color")
        return args

    def run(self) -> None:
        """Download, run the program into the cache, publish (as :meth:`StylizeBase.run`)."""
        StylizeBase.run(self)

    def render(self, inputs: dict[str, str], output_path: str) -> None:
        """Run the engine's command line with its output pointed at ``output_path``."""
        self.program_inputs = inputs
        self.temp_output_path = output_path
        ExternalProgramTask.run(self)


class PublishStylized(luigi.WrapperTask):
    """The published result of :class:`Stylize` (which publishes it itself); kept for existing callers."""

    image = NameParameter(what="image", default=DEFAULT_IMAGE)
    model = NameParameter(what="model", default=DEFAULT_MODEL)
    style = StyleParameter(default=None)
    style_image = OptionalNameParameter(what="style image", default=None)
    strength = StrengthParameter(default=1.0)
    preserve_color = luigi.BoolParameter(default=False)

    def requires(self) -> Stylize:
        """Require the stylize task, whose output is the published object."""
        return Stylize(
            image=self.image,
            model=self.model,
            style=self.style,
            style_image=self.style_image,
            strength=self.strength,
            preserve_color=self.preserve_color,
        )

    def output(self) -> FileSystemTarget:
        """Return the published object on the remote."""
        return self.requires().output()
