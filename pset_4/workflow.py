"""Run a batch of stylizations through Luigi: check the inputs, sync them up, stylize, publish, summarize."""

from __future__ import annotations

import io
import itertools
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import luigi
from PIL import Image

from csci_utils.luigi.storage import join, list_names, target_for
from pset_4 import contact_sheet, model_cache
from pset_4.naming import check_name, check_style, style_label, version_hash
from pset_4.scheduling import SUCCEEDED, Scheduler, build
from pset_4.settings import CONTACT_SHEETS, IMAGES, MODELS, WorkflowSettings, resolve_settings
from pset_4.tasks.data import DownloadModel, UploadImage, UploadModel
from pset_4.tasks.stylize import PublishStylized, Stylize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    """Every image x model x style pair to stylize (``styles`` empty: the model's own single style)."""

    images: Sequence[str]
    models: Sequence[str]
    styles: Sequence[str | None] = (None,)

    def __post_init__(self) -> None:
        """Refuse an empty batch and unsafe names before any work."""
        if not self.images or not self.models:
            msg = "a batch needs at least one image and one model"
            raise ValueError(msg)
        for name in self.images:
            check_name(name, "image")
        for name in self.models:
            check_name(name, "model")
        for style in self.styles or (None,):
            check_style(style)

    def tasks(self) -> list[Stylize]:
        """Return one Stylize per pair, in image-major order, without duplicates."""
        pairs = itertools.product(
            dict.fromkeys(self.images), dict.fromkeys(self.models), dict.fromkeys(self.styles or (None,))
        )
        return [Stylize(image=i, model=m, style=s) for i, m, s in pairs]


@dataclass
class BatchReport:
    """What a batch run did: success, Luigi's summary, where results are, and what failed."""

    ok: bool
    summary: str
    outputs: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    contact_sheet: Path | None = None


def remote_names(settings: WorkflowSettings, folder: str) -> list[str]:
    """Return the input names the remote has under ``folder`` (temp and hidden files left out)."""
    return [n for n in list_names(join(settings.remote_root, folder)) if not n.startswith(".")]


def check_inputs(batch: Batch, settings: WorkflowSettings) -> None:
    """Raise FileNotFoundError, listing the remote, for an input neither the remote nor the cache has."""
    for folder, names, what in ((IMAGES, batch.images, "image"), (MODELS, batch.models, "model")):
        have = remote_names(settings, folder)
        for name in names:
            if name in have or Path(settings.cache_root, folder, name).is_file():
                continue
            listing = ", ".join(have) if have else "nothing; `python -m pset_4 --demo` seeds a sample"
            msg = f"no {what} {name!r} in {join(settings.remote_root, folder)} (it has: {listing})"
            raise FileNotFoundError(msg)


def upload_tasks(batch: Batch, settings: WorkflowSettings) -> list[luigi.Task]:
    """Return the Up of Up/Down: an upload per input the cache has (a no-op where the remote has it)."""
    tasks: list[luigi.Task] = []
    tasks += [UploadImage(image=n) for n in batch.images if Path(settings.cache_root, IMAGES, n).is_file()]
    tasks += [UploadModel(model=n) for n in batch.models if Path(settings.cache_root, MODELS, n).is_file()]
    return tasks


def run_batch(
    batch: Batch,
    *,
    workers: int = 1,
    scheduler: Scheduler | None = None,
    publish: bool = True,
    sheet: bool = True,
    log_level: str = "WARNING",
) -> BatchReport:
    """Stylize every pair of ``batch``; return where the results are and whether everything succeeded.

    Inputs missing everywhere fail fast (FileNotFoundError listing the remote). Failed pairs do not stop the
    others; they are listed in the report and ``ok`` is False. The roots come from :func:`resolve_settings`,
    as the tasks' own do (luigi.cfg ``[pset_4]`` or the environment).
    """
    settings = resolve_settings()
    scheduler = scheduler or Scheduler()
    check_inputs(batch, settings)
    ups = upload_tasks(batch, settings)
    if ups:
        up = build(ups, workers=1, scheduler=scheduler, log_level=log_level)
        if up.status not in SUCCEEDED:
            return BatchReport(
                ok=False, summary=up.summary_text, failed=[str(t) for t in ups if not t.complete()]
            )
    stylize = batch.tasks()
    wanted: list[luigi.Task] = [PublishStylized(image=t.image, model=t.model, style=t.style) for t in stylize]
    if not publish:
        wanted = list(stylize)
    if workers > 1:
        # Luigi forks a process per task: fetch and load the models once here, cores split between the
        # workers, so that every child inherits them instead of loading its own (pset_4.model_cache).
        downloads = [DownloadModel(model=m) for m in batch.models]
        build(downloads, workers=1, scheduler=scheduler, log_level=log_level)
        threads = settings.engine_threads or model_cache.split_threads(workers)
        model_cache.preload([Path(settings.cache_root, MODELS, m) for m in batch.models], threads=threads)
    log.info("%d pairs to stylize, %d worker(s)", len(stylize), workers)
    result = build(wanted, workers=workers, scheduler=scheduler, log_level=log_level)
    # Success is judged by the outputs, not the worker's own status: with a central scheduler another
    # worker may have done some of this batch.
    report = BatchReport(ok=True, summary=result.summary_text)
    for task, goal in zip(stylize, wanted, strict=True):
        if not goal.complete():
            report.failed.append(str(task))
            continue
        if task.output().exists():
            report.outputs.append(task.output().path)
        if publish:
            report.published.append(goal.output().path)
    if report.failed:
        report.ok = False
    if sheet:
        report.contact_sheet = write_contact_sheet(stylize, settings, publish=publish)
    return report


def write_contact_sheet(
    tasks: Sequence[Stylize], settings: WorkflowSettings, *, publish: bool
) -> Path | None:
    """Write (once) the sheet of every source image beside its results; None if there is nothing to show."""
    rows: list[list[contact_sheet.Tile]] = []
    shown: list[str] = []
    by_image: dict[str, list[Stylize]] = {}
    for task in tasks:
        by_image.setdefault(task.image, []).append(task)
    for image, row_tasks in by_image.items():
        source = [
            Path(settings.cache_root, IMAGES, image).as_posix(),
            join(settings.remote_root, IMAGES, image),
        ]
        row = [contact_sheet.Tile(image, _read_image(source))]
        for task in row_tasks:
            places = [task.output().path]
            if publish:
                places.append(
                    PublishStylized(image=task.image, model=task.model, style=task.style).output().path
                )
            caption = " ".join(filter(None, [PurePosixPath(task.model).stem, style_label(task.style)]))
            tile = contact_sheet.Tile(caption, _read_image(places))
            if tile.image is not None:
                shown.append(task.output_name())
            row.append(tile)
        rows.append(row)
    if not shown:
        return None
    path = Path(settings.cache_root, CONTACT_SHEETS, f"contact-{version_hash({'outputs': shown})}.png")
    if not path.exists():
        # FileExistsError: another worker of the same batch wrote the same sheet first.
        with suppress(FileExistsError):
            contact_sheet.write(contact_sheet.compose(rows), path)
    return path


def _read_image(locations: Sequence[str]) -> Image.Image | None:
    """Return the picture at the first location that exists, or None."""
    for location in locations:
        target = target_for(location, binary=True)
        if target.exists():
            with target.open("r") as f:
                data = f.read()
            try:
                image = Image.open(io.BytesIO(data))
                image.load()
            except (OSError, Image.DecompressionBombError, ValueError):
                log.warning("cannot show %s on the contact sheet: not a readable image", location)
                return None
            return image
    return None
