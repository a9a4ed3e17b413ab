"""One Luigi task per photo x model for all its styles: 17x fewer tasks for the scheduler than one per pair.

A prototype of the grouped task graph (see docs/scaling.md): :class:`StylizeGroup` stylizes every style of
one photo with one model, loaded once, and writes exactly the files the per-pair ``Stylize`` tasks would
(same versioned names, each written atomically); :class:`PublishGroup` copies them to the remote as
``PublishStylized`` would. So a grouped run and a per-pair run find each other's results, and a
half-finished group resumes with the styles it lacks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import luigi
from luigi.target import FileSystemTarget

from csci_utils.luigi.tasks import copy_target
from pset_4.model_cache import stylize_into
from pset_4.naming import check_style
from pset_4.settings import DEFAULT_IMAGE, DEFAULT_MODEL
from pset_4.tasks.data import DownloadImage, DownloadModel
from pset_4.tasks.params import NameParameter
from pset_4.tasks.stylize import PublishStylized, Stylize
from pset_4.workflow import Batch

log = logging.getLogger(__name__)


class StylizeGroup(luigi.Task):
    """Stylize one photo with one model in every style of ``styles``: one task, one model load."""

    image = NameParameter(what="image", default=DEFAULT_IMAGE)
    model = NameParameter(what="model", default=DEFAULT_MODEL)
    styles = luigi.ListParameter(default=(None,), description="styles (indices or blends; null: the model's)")

    def pairs(self) -> list[Stylize]:
        """Return the per-pair tasks this group stands for (their outputs are this task's)."""
        return [Stylize(image=self.image, model=self.model, style=check_style(s)) for s in self.styles]

    def requires(self) -> dict[str, luigi.Task]:
        """Require the local copies of the image and the model, as each pair does."""
        return {"image": DownloadImage(image=self.image), "model": DownloadModel(model=self.model)}

    def output(self) -> list[FileSystemTarget]:
        """Return every pair's versioned result (complete when all exist)."""
        return [pair.output() for pair in self.pairs()]

    def run(self) -> None:
        """Write each missing result atomically; results already there are left alone."""
        inputs = self.input()
        for pair in self.pairs():
            output = pair.checked_output()
            if output.exists():
                continue
            with output.temporary_path() as temp_output_path:
                stylize_into(inputs["image"].path, inputs["model"].path, temp_output_path, style=pair.style)
            log.info("stylized %s -> %s", pair, output.path)

    def on_failure(self, exception: BaseException) -> str:
        """Report a user's mistake (bad image, bad model) in one line instead of a traceback."""
        if isinstance(exception, (ValueError, OSError)):
            return f"{self} failed: {exception}"
        return str(super().on_failure(exception))


class PublishGroup(luigi.Task):
    """Copy every result of a :class:`StylizeGroup` to ``<remote>/stylized/`` unless it is there."""

    image = NameParameter(what="image", default=DEFAULT_IMAGE)
    model = NameParameter(what="model", default=DEFAULT_MODEL)
    styles = luigi.ListParameter(default=(None,))

    def requires(self) -> StylizeGroup:
        """Require the group's local results."""
        return StylizeGroup(image=self.image, model=self.model, styles=self.styles)

    def publishers(self) -> list[PublishStylized]:
        """Return the per-pair publish tasks this group stands for."""
        return [PublishStylized(image=p.image, model=p.model, style=p.style) for p in self.requires().pairs()]

    def output(self) -> list[FileSystemTarget]:
        """Return every pair's remote object."""
        return [publisher.output() for publisher in self.publishers()]

    def run(self) -> None:
        """Copy each local result whose remote object is missing."""
        for local, remote in zip(self.input(), self.output(), strict=True):
            if not remote.exists():
                copy_target(local, remote)


def grouped_tasks(batch: Batch, *, publish: bool = True) -> Sequence[luigi.Task]:
    """Return one group task per photo x model of ``batch`` (publishing ones unless ``publish`` is False)."""
    styles = list(dict.fromkeys(batch.styles or (None,)))
    kind: type[luigi.Task] = PublishGroup if publish else StylizeGroup
    return [
        kind(image=image, model=model, styles=styles)
        for image in dict.fromkeys(batch.images)
        for model in dict.fromkeys(batch.models)
    ]
