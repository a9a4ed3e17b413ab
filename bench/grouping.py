"""One Luigi task per photo x model for all its styles: 17x fewer tasks for the scheduler than one per pair.

A prototype of the grouped task graph (see docs/scaling.md), kept beside the bench that measures it
(``bench_workflow.py``'s "grouped" column; tested in tests/pset_4/test_grouping.py): the command line does not
use it. :class:`StylizeGroup` stylizes every style of one photo with one model, loaded once, and writes
exactly the files the per-pair ``Stylize`` tasks would (same versioned names, each written atomically and
published). So a grouped run and a per-pair run find each other's results, and a half-finished group
resumes with the styles it lacks.
"""

from __future__ import annotations

from collections.abc import Sequence

import luigi
from luigi.target import FileSystemTarget

from pset_4.batch import Batch
from pset_4.naming import check_style
from pset_4.settings import DEFAULT_IMAGE, DEFAULT_MODEL
from pset_4.tasks.params import NameParameter
from pset_4.tasks.stylize import Stylize, StylizeBase, StylizeHere


class StylizeGroup(luigi.Task):
    """Stylize one photo with one model in every style of ``styles``: one task, one model load.

    Its output is every pair's published result, so, like ``Stylize``, it follows the shared-task rule
    (docs/workflow-design.md); each missing pair is done by that pair's own ``run()``.
    """

    image = NameParameter(what="image", default=DEFAULT_IMAGE)
    model = NameParameter(what="model", default=DEFAULT_MODEL)
    styles = luigi.ListParameter(default=(None,), description="styles (indices or blends; null: the model's)")
    publish = luigi.BoolParameter(default=True, description="publish the results (else keep them local)")

    def pairs(self) -> list[StylizeBase]:
        """Return the per-pair tasks this group stands for (their outputs are this task's)."""
        kind: type[StylizeBase] = Stylize if self.publish else StylizeHere
        return [kind(image=self.image, model=self.model, style=check_style(s)) for s in self.styles]

    def requires(self) -> list[luigi.Task]:
        """Require the remote inputs, as each pair does."""
        return list(self.pairs()[0].requires().values())

    def output(self) -> list[FileSystemTarget]:
        """Return every pair's versioned result (complete when all exist)."""
        return [pair.output() for pair in self.pairs()]

    def run(self) -> None:
        """Do each pair that is not done; the model stays loaded between them (pset_4.render)."""
        for pair in self.pairs():
            if not pair.complete():
                pair.run()

    def on_failure(self, exception: BaseException) -> str:
        """Report a user's mistake (bad image, bad model) in one line instead of a traceback."""
        if isinstance(exception, (ValueError, OSError)):
            return f"{self} failed: {exception}"
        return str(super().on_failure(exception))


def grouped_tasks(batch: Batch, *, publish: bool = True) -> Sequence[StylizeGroup]:
    """Return one group task per photo x model of ``batch`` (publishing ones unless ``publish`` is False)."""
    styles = list(dict.fromkeys(batch.styles or (None,)))
    return [
        StylizeGroup(image=image, model=model, styles=styles, publish=publish)
        for image in dict.fromkeys(batch.images)
        for model in dict.fromkeys(batch.models)
    ]
