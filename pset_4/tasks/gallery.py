"""The gallery of the remote as Luigi tasks: a thumbnail per picture, and the page (:mod:`pset_4.gallery`).

:class:`GalleryPage` is complete when ``<remote>/gallery/index.html`` shows the listing its ``digest`` names
(the digest sits in the page), so a batch that changed nothing on the remote does not rewrite it, and several
machines that finish one batch together ask for the same task and get one page. A :class:`Thumbnail` is
made once per source version (its name carries it). Both are written straight to the remote, each file
whole or not at all.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import PurePosixPath

import luigi
from luigi.target import FileSystemTarget
from PIL import Image, ImageDraw, ImageOps

from csci_utils.luigi.locations import join, list_names, target_for
from csci_utils.luigi.versions import object_version
from neural_style.image import decode_image, encode_image
from pset_4 import contact_sheet
from pset_4.gallery import GALLERY, LISTING_META, PAGE, THUMBS, Entry, entries_of, render_page, thumbnail_name
from pset_4.naming import version_hash
from pset_4.settings import IMAGES, STYLIZED, current_settings
from pset_4.tasks.video import is_video

__all__ = ["GalleryPage", "Thumbnail", "listing_digest"]

log = logging.getLogger(__name__)

# A thumbnail's longer side: sharp on the page's 240 px cards on a high-density screen, a few KB each.
THUMB_SIDE = 320


def _write(target: FileSystemTarget, data: bytes) -> None:
    """Write ``data`` to ``target`` whole (a local file atomically, an S3 object in one request)."""
    with target.open("w") as f:
        f.write(data)


class Thumbnail(luigi.Task):
    """A small JPEG of a picture or a strip of a video's frames, under ``<remote>/gallery/thumbs/``."""

    folder = luigi.Parameter(description="the source's folder on the remote: images or stylized")
    name = luigi.Parameter(description="the source's name in that folder")
    thumbnail = luigi.Parameter(description="the thumbnail's versioned file name")

    def output(self) -> FileSystemTarget:
        """Return the thumbnail on the remote."""
        return target_for(join(current_settings().remote_root, GALLERY, THUMBS, self.thumbnail), binary=True)

    def run(self) -> None:
        """Read the source from the remote, shrink it (a video: a strip of its frames), write the JPEG."""
        source = target_for(join(current_settings().remote_root, self.folder, self.name), binary=True)
        with source.open("r") as f:
            data: bytes = f.read()
        try:
            if is_video(self.name):
                picture = contact_sheet.frame_strip(data)
            else:
                picture = decode_image(data, name=self.name)
        except ValueError as err:  # an unreadable source still gets a card: a grey tile that says so
            log.warning("gallery: %s/%s cannot be shown: %s", self.folder, self.name, err)
            picture = _unreadable_tile()
        thumb = ImageOps.contain(picture.convert("RGB"), (THUMB_SIDE, THUMB_SIDE))
        _write(self.output(), encode_image(thumb, "JPEG"))


def _unreadable_tile() -> Image.Image:
    """Return a grey tile saying its source could not be read."""
    tile = Image.new("RGB", (THUMB_SIDE, THUMB_SIDE * 3 // 4), (200, 200, 200))
    ImageDraw.Draw(tile).text((8, 8), "cannot be shown", fill=(0, 0, 0))
    return tile


def remote_listing() -> tuple[list[str], list[str]]:
    """Return the names under ``<remote>/images`` and ``<remote>/stylized`` (now)."""
    root = current_settings().remote_root
    return list_names(join(root, IMAGES)), list_names(join(root, STYLIZED))


def listing_digest(images: list[str], results: list[str]) -> str:
    """Return the digest of a listing: a page showing it needs no rewrite."""
    return version_hash({"images": sorted(images), "results": sorted(results)})


class GalleryPage(luigi.Task):
    """``<remote>/gallery/index.html``: every result on the remote, by photo, with thumbnails and filters."""

    digest = luigi.Parameter(description="the digest of the remote's listing the page must show")

    @cached_property
    def entries(self) -> list[Entry]:
        """Return the page's cards, from the remote's listing."""
        return entries_of(*remote_listing())

    @cached_property
    def thumbnails(self) -> dict[Entry, str]:
        """Return each card's thumbnail name: a photo's versioned by its content, a result's by its name."""
        root = current_settings().remote_root
        names: dict[Entry, str] = {}
        for entry in self.entries:
            version = None
            if entry.is_source:  # a photo may be replaced under the same name; a result's name is versioned
                version = object_version(target_for(join(root, entry.folder, entry.name), binary=True))
            names[entry] = thumbnail_name(entry, version)
        return names

    def requires(self) -> list[Thumbnail]:
        """Require a thumbnail for every card."""
        return [Thumbnail(folder=e.folder, name=e.name, thumbnail=t) for e, t in self.thumbnails.items()]

    def output(self) -> FileSystemTarget:
        """Return the page on the remote."""
        return target_for(join(current_settings().remote_root, GALLERY, PAGE), binary=True)

    def complete(self) -> bool:
        """Whether the page exists and shows the listing :attr:`digest` names."""
        page = self.output()
        if not page.exists():
            return False
        with page.open("r") as f:
            head = f.read(4096)
        return f'name="{LISTING_META}" content="{self.digest}"'.encode() in head

    def run(self) -> None:
        """Write the page (after its thumbnails)."""
        title = f"Gallery of {PurePosixPath(current_settings().remote_root).name or 'the remote'}"
        page = render_page(self.entries, self.thumbnails, title=title, digest=self.digest)
        _write(self.output(), page.encode("utf-8"))


def gallery_page() -> GalleryPage:
    """Return the page task for the remote as it is now."""
    return GalleryPage(digest=listing_digest(*remote_listing()))
