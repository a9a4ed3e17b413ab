"""The contact sheet of a batch as a Luigi task: the source photo, then each of its results, per row.

A video's row shows its first frame, then a strip of frames of each stylized result. A batch with style
pictures gets a first row showing each style picture at the top of its column (model
columns there hold only their caption).

Its inputs are the batch's results (published objects, or this machine's copies with ``--no-publish``); the
sheet is drawn from this machine's cache where it has a result and from the remote where it does not, written
atomically, and skipped when it exists. Published batches publish their sheet too, so every machine sharing
the batch sees it complete.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path, PurePosixPath

import luigi
from luigi.target import FileSystemTarget
from PIL import Image

from csci_utils.luigi.copy import copy_target
from csci_utils.luigi.locations import join, target_for
from neural_style.sheet import BACKGROUND, Tile, compose
from pset_4 import contact_sheet
from pset_4.naming import version_hash
from pset_4.settings import CONTACT_SHEETS, IMAGES, STYLE_IMAGES, current_settings
from pset_4.tasks.stylize import StylizeBase
from pset_4.tasks.video import is_video, result_task

log = logging.getLogger(__name__)


def style_caption(model: str, style: str | None) -> str:
    """Return a tile's caption: the model's name and the style it was asked for."""
    name = PurePosixPath(model).stem
    if style is None:
        return name
    return f"{name} style {style}" if style.isdigit() else f"{name} blend {style}"


def result_caption(task: StylizeBase) -> str:
    """Return a result tile's caption: its model and style, or its style picture, and strength and colour."""
    if task.style_image:
        caption = f"by {PurePosixPath(task.style_image).stem}"
    else:
        caption = style_caption(task.model, task.style)
    if task.strength != 1.0:
        caption += f" x{task.strength:g}"
    if task.preserve_color:
        caption += " color"
    return caption


def _stylize_params(pair: Sequence[object] | Mapping[str, object]) -> dict[str, object]:
    """Return a pair's stylize parameters: a mapping of them, or the older ``[image, model, style]``."""
    if isinstance(pair, Mapping):
        return dict(pair)
    return dict(zip(("image", "model", "style"), pair, strict=True))


class ContactSheet(luigi.Task):
    """One picture of every image of a batch beside its stylized versions."""

    pairs = luigi.ListParameter(
        description="the stylize parameters ({image, model, style, style_image, ...}, or [image, model, "
        "style]) of each result, in batch order"
    )
    publish = luigi.BoolParameter(default=True, description="results (and the sheet) are on the remote")

    def results(self) -> list[StylizeBase]:
        """Return the stylize task of each pair."""
        return [result_task(_stylize_params(pair), publish=self.publish) for pair in self.pairs]

    def requires(self) -> list[StylizeBase]:
        """Require every result of the batch."""
        return self.results()

    def sheet_name(self) -> str:
        """Return the sheet's file name, a hash of the versioned names of the results it shows."""
        return f"contact-{version_hash({'outputs': [t.output_name() for t in self.results()]})}.png"

    def cached_output(self) -> Path:
        """Return this machine's copy of the sheet."""
        return Path(current_settings().cache_root, CONTACT_SHEETS, self.sheet_name())

    def output(self) -> FileSystemTarget:
        """Return the sheet: published next to the results, or in this machine's cache."""
        if not self.publish:
            return target_for(self.cached_output().as_posix(), binary=True)
        return target_for(
            join(current_settings().remote_root, CONTACT_SHEETS, self.sheet_name()), binary=True
        )

    def run(self) -> None:
        """Draw the sheet into this machine's cache (atomically), then publish it."""
        local = self.cached_output()
        if not local.exists():
            # FileExistsError: another worker of this machine drew the same sheet first.
            with suppress(FileExistsError):
                contact_sheet.write(compose(self.rows()), local)
        if self.publish:
            copy_target(target_for(local.as_posix(), binary=True), self.output())

    def rows(self) -> list[list[Tile]]:
        """Return one row per image: the source photo first, then each of its results."""
        settings = current_settings()
        by_image: dict[str, list[StylizeBase]] = {}
        for task in self.results():
            by_image.setdefault(task.image, []).append(task)
        rows = []
        if any(task.style_image for task in self.results()):
            rows.append(self.header_row(next(iter(by_image.values()))))
        for image, tasks in by_image.items():
            sources = [
                Path(settings.cache_root, IMAGES, image).as_posix(),
                join(settings.remote_root, IMAGES, image),
            ]
            # A video's row: its first frame, then a strip of frames of each result.
            video = is_video(image)
            source = read_strip(sources, frames=1) if video else read_image(sources)
            row = [Tile(image, source)]
            for task in tasks:
                places = [task.cached_output().path, task.output().path]
                picture = read_strip(places) if video else read_image(places)
                row.append(Tile(result_caption(task), picture))
            rows.append(row)
        return rows

    def header_row(self, tasks: Sequence[StylizeBase]) -> list[Tile]:
        """Return the first row: a blank corner, then each column's style picture (or caption only)."""
        settings = current_settings()
        blank = Image.new("RGB", (1, 1), BACKGROUND)
        row = [Tile("style", blank)]
        for task in tasks:
            if not task.style_image:
                row.append(Tile(result_caption(task), blank))
                continue
            sources = [
                Path(settings.cache_root, STYLE_IMAGES, task.style_image).as_posix(),
                join(settings.remote_root, STYLE_IMAGES, task.style_image),
            ]
            row.append(Tile(task.style_image, read_image(sources)))
        return row


def read_image(locations: Sequence[str]) -> Image.Image | None:
    """Return the picture at the first of ``locations`` that exists (None: none does, or unreadable)."""
    return _read_first(locations, _decode_picture)


def read_strip(locations: Sequence[str], frames: int = contact_sheet.STRIP_FRAMES) -> Image.Image | None:
    """Return the strip of the video at the first of ``locations`` that exists (None: none does, or bad)."""
    return _read_first(locations, lambda data: contact_sheet.frame_strip(data, frames))


def _read_first(locations: Sequence[str], decode: Callable[[bytes], Image.Image]) -> Image.Image | None:
    """Return what ``decode`` makes of the first of ``locations`` that exists (None: none does, or bad)."""
    for location in locations:
        target = target_for(location, binary=True)
        if target.exists():
            with target.open("r") as f:
                data = f.read()
            try:
                return decode(data)
            except ValueError as err:
                log.warning("cannot show %s on the contact sheet: %s", location, err)
                return None
    return None


def _decode_picture(data: bytes) -> Image.Image:
    """Return the picture ``data`` encodes; ValueError if it is not a readable image."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, Image.DecompressionBombError, ValueError) as err:
        msg = "not a readable image"
        raise ValueError(msg) from err
    return image
