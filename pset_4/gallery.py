"""The gallery of a remote: one HTML page of every result on it, grouped by source photo, with thumbnails.

The page sits at ``<remote>/gallery/index.html`` beside ``gallery/thumbs/``, and links the results and photos
by relative paths (``../stylized/...``, ``../images/...``), so the same page works opened from a local folder
and from an S3 bucket served as a static site. It is plain HTML, CSS and a little JavaScript, with no network
access: two menus filter the cards by photo and by style, and a link's ``#photo=...&style=...`` sets them.

What a result is comes from its versioned name (:func:`pset_4.naming.stylized_name`): photo, model or style
picture, style, strength, colour flag and version hash. Every name that goes into the page is escaped as
text, and quoted in links. The Luigi tasks that build the page and its thumbnails are in
:mod:`pset_4.tasks.gallery`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from csci_utils.luigi.locations import join
from pset_4.naming import version_hash
from pset_4.tasks.video import is_video

__all__ = [
    "GALLERY",
    "HEADLESS_CHROMIUM",
    "PAGE",
    "THUMBS",
    "Entry",
    "entries_of",
    "gallery_url",
    "render_page",
    "thumbnail_name",
]

GALLERY = "gallery"
THUMBS = "thumbs"
PAGE = "index.html"
# Headless Chromium flags that open the page on a machine with no display, no GPU and no network to call
# home to (root needs --no-sandbox); the tests and docs/make_readme_picture.py use them.
HEADLESS_CHROMIUM = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=10000",
)
# The name of the page's <meta> that holds the digest of the listing it shows.
LISTING_META = "pset4-listing"
_HASH = re.compile(r"[0-9a-f]{10}")


@dataclass(frozen=True)
class Entry:
    """One card of the page: a source photo (``folder`` "images") or a result ("stylized")."""

    folder: str
    name: str
    photo: str
    model: str | None = None
    style: str | None = None
    style_image: str | None = None
    strength: str | None = None
    color: bool = False
    version: str | None = None

    @property
    def is_source(self) -> bool:
        """Whether this card is the source photo itself."""
        return self.folder != "stylized"

    @property
    def is_video(self) -> bool:
        """Whether the card shows a video (a poster strip and a player)."""
        return is_video(self.name)

    @property
    def style_key(self) -> str:
        """Return what the style filter calls this card's style (``source`` for the photo)."""
        if self.is_source:
            return "source"
        if self.style_image is not None:
            return f"by {self.style_image}"
        return f"{self.model} style {self.style}" if self.style is not None else f"{self.model}"


def gallery_url(remote_root: str) -> str:
    """Return where the gallery page of ``remote_root`` is (a path or an ``s3://`` URL)."""
    return join(remote_root, GALLERY, PAGE)


def thumbnail_name(entry: Entry, source_version: str | None) -> str:
    """Return the versioned file name of ``entry``'s thumbnail (a new one when its source changes)."""
    key = {"folder": entry.folder, "name": entry.name, "version": source_version}
    stem = PurePosixPath(entry.name).stem[:80]
    return f"{entry.folder}--{stem}--{version_hash(key)}.jpg"


def entries_of(images: Iterable[str], results: Iterable[str]) -> list[Entry]:
    """Return the page's cards: each photo that has results, first, then its results; names not ours skipped.

    ``images`` are the names under ``<remote>/images``, ``results`` those under ``<remote>/stylized``.
    """
    photos = sorted(images)
    grouped: dict[str, list[Entry]] = {}
    for name in sorted(results, key=_natural):
        entry = parse_result(name, photos)
        if entry is not None:
            grouped.setdefault(entry.photo, []).append(entry)
    cards: list[Entry] = []
    for photo in sorted(grouped):
        if photo in photos:
            cards.append(Entry(folder="images", name=photo, photo=photo))
        cards += grouped[photo]
    return cards


def parse_result(name: str, photos: Sequence[str]) -> Entry | None:
    """Return the card of the result named ``name`` (a versioned name), or None if it is not one."""
    path = PurePosixPath(name)
    parts = path.stem.split("--")
    if len(parts) < 3 or not _HASH.fullmatch(parts[-1]):
        return None
    photo = _photo_named(parts[0], path.suffix, photos)
    model: str | None = parts[1]
    style_image = None
    if parts[1].startswith("by-"):
        model, style_image = None, parts[1].removeprefix("by-")
    style = strength = None
    color = False
    for part in parts[2:-1]:
        if part == "color":
            color = True
        elif part.startswith("k"):
            strength = part[1:]
        elif part.startswith("s"):
            style = part[1:].replace("x", ":").replace("+", ",")
    return Entry(
        folder="stylized",
        name=name,
        photo=photo,
        model=model,
        style=style,
        style_image=style_image,
        strength=strength,
        color=color,
        version=parts[-1],
    )


def _natural(name: str) -> list[object]:
    """Return a sort key that orders numbers by value (``s2`` before ``s10``)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def _photo_named(stem: str, suffix: str, photos: Sequence[str]) -> str:
    """Return the photo whose (clipped) stem is ``stem``, preferring one with ``suffix``; else the stem."""
    matches = [photo for photo in photos if PurePosixPath(photo).stem[:80] == stem]
    same_suffix = [photo for photo in matches if PurePosixPath(photo).suffix.lower() == suffix.lower()]
    return (same_suffix or matches or [stem])[0]


def render_page(entries: Sequence[Entry], thumbnails: dict[Entry, str], *, title: str, digest: str) -> str:
    """Return the page: a section per photo, a card per entry with its thumbnail (named in ``thumbnails``)."""
    sections: list[str] = []
    by_photo: dict[str, list[Entry]] = {}
    for entry in entries:
        by_photo.setdefault(entry.photo, []).append(entry)
    for photo, cards in by_photo.items():
        rendered = "\n".join(_card(entry, thumbnails[entry]) for entry in cards)
        sections.append(
            f'<section class="photo" data-photo="{_text(photo)}">\n<h2>{_text(photo)}</h2>\n'
            f'<div class="cards">\n{rendered}\n</div>\n</section>'
        )
    photos = "".join(f'<option value="{_text(p)}">{_text(p)}</option>' for p in by_photo)
    styles = sorted({entry.style_key for entry in entries if not entry.is_source})
    style_options = "".join(f'<option value="{_text(s)}">{_text(s)}</option>' for s in styles)
    body = "\n".join(sections) or '<p class="empty">No results on this remote yet.</p>'
    return _PAGE.format(
        title=_text(title),
        meta=LISTING_META,
        digest=_text(digest),
        photos=photos,
        styles=style_options,
        count=len([e for e in entries if not e.is_source]),
        body=body,
        style=_CSS,
        script=_SCRIPT,
    )


def _card(entry: Entry, thumbnail: str) -> str:
    """Return one card: its thumbnail linking the file, a player for a video, and what it is."""
    target = f"../{entry.folder}/{quote(entry.name)}"
    thumb = f"{THUMBS}/{quote(thumbnail)}"
    picture = f'<a href="{target}"><img src="{thumb}" alt="{_text(entry.name)}" loading="eager"></a>'
    if entry.is_video:
        picture += f'\n<video controls preload="none" poster="{thumb}" src="{target}"></video>'
    lines = [f'<span class="name">{_text(entry.name)}</span>']
    if entry.is_source:
        lines.insert(0, "<b>source photo</b>")
    else:
        if entry.style_image is not None:
            lines.append(f"style picture: {_text(entry.style_image)}")
        else:
            lines.append(f"model: {_text(entry.model or '')}")
            if entry.style is not None:
                lines.append(f"style: {_text(entry.style)}")
        lines.append(f"strength: {_text(entry.strength or '1')}")
        lines.append("colour: " + ("the photo's" if entry.color else "the style's"))
        lines.append(f"version: {_text(entry.version or '')}")
    caption = "<br>".join(lines)
    return (
        f'<figure class="card{" source" if entry.is_source else ""}" data-photo="{_text(entry.photo)}" '
        f'data-style="{_text(entry.style_key)}">\n{picture}\n<figcaption>{caption}</figcaption>\n</figure>'
    )


def _text(value: str) -> str:
    """Return ``value`` escaped for HTML text and attribute values."""
    return html.escape(value, quote=True)


_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f6f6f6; color: #222; }
header { position: sticky; top: 0; background: #fff; padding: 8px 16px; border-bottom: 1px solid #ddd;
  display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
header h1 { font-size: 18px; margin: 0 16px 0 0; }
section { padding: 8px 16px; }
section h2 { font-size: 16px; margin: 8px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { margin: 0; width: 240px; background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 6px; }
.card.source { border-color: #888; }
.card img { display: block; width: 100%; height: 180px; object-fit: contain; background: #eee; }
.card img[data-state="broken"] { outline: 2px solid #c00; }
.card video { width: 100%; margin-top: 4px; }
figcaption { font-size: 12px; margin-top: 4px; overflow-wrap: anywhere; }
.name { color: #666; }
[hidden] { display: none !important; }
"""

# Filters: a card shows when it matches both menus (the source photo shows with any style). The menus
# follow the address's #photo=...&style=..., so a filtered view can be linked. Once every picture has
# loaded or failed, each <img> says which (data-state) and <body> gets data-ready.
_SCRIPT = """
(function () {
  var photo = document.getElementById("photo"), style = document.getElementById("style");
  var count = document.getElementById("count");
  function apply() {
    var shown = 0;
    document.querySelectorAll("section.photo").forEach(function (section) {
      var visible = 0;
      section.querySelectorAll(".card").forEach(function (card) {
        var ok = (!photo.value || card.dataset.photo === photo.value) &&
          (!style.value || card.dataset.style === style.value || card.dataset.style === "source");
        card.hidden = !ok;
        if (ok && card.dataset.style !== "source") { visible += 1; }
      });
      section.hidden = visible === 0 && (photo.value !== "" || style.value !== "");
      shown += visible;
    });
    count.textContent = shown + " result(s) shown";
  }
  function fromAddress() {
    var wanted = new URLSearchParams(location.hash.slice(1));
    photo.value = wanted.get("photo") || "";
    style.value = wanted.get("style") || "";
    if (photo.selectedIndex < 0) { photo.value = ""; }
    if (style.selectedIndex < 0) { style.value = ""; }
    apply();
  }
  function toAddress() {
    var wanted = new URLSearchParams();
    if (photo.value) { wanted.set("photo", photo.value); }
    if (style.value) { wanted.set("style", style.value); }
    history.replaceState(null, "", "#" + wanted.toString());
    apply();
  }
  photo.addEventListener("change", toAddress);
  style.addEventListener("change", toAddress);
  window.addEventListener("hashchange", fromAddress);
  fromAddress();
  window.addEventListener("load", function () {
    document.querySelectorAll("img").forEach(function (img) {
      img.dataset.state = img.complete && img.naturalWidth > 0 ? "loaded" : "broken";
    });
    document.body.dataset.ready = "1";
  });
})();
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="{meta}" content="{digest}">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<label>Photo <select id="photo"><option value="">every photo</option>{photos}</select></label>
<label>Style <select id="style"><option value="">every style</option>{styles}</select></label>
<span id="count">{count} result(s)</span>
</header>
{body}
<script>{script}</script>
</body>
</html>
"""
