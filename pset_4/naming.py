"""Names the workflow accepts and the versioned names of what it produces."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from csci_utils.hashing import hash_str
from neural_style.styles import check_style as check_style_grammar

# A public, fixed salt: the hash versions outputs (it is not a secret and must be the same on every machine
# sharing a remote). Change it to invalidate every output name at once.
VERSION_SALT = "pset_4/output-version/1"
HASH_CHARS = 10

_OUTPUT_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
_UNSAFE_LABEL = re.compile(r"[^A-Za-z0-9._-]+")
# The longest file name Linux and macOS filesystems take, in bytes (NAME_MAX).
NAME_MAX_BYTES = 255


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a plain file name; else raise ValueError saying why.

    Names address objects under a root, so a separator or ``..`` could escape it.
    """
    if not isinstance(name, str) or not name.strip():
        msg = f"{what} must be a non-empty file name, got {name!r}"
        raise ValueError(msg)
    check_length(name, what)
    if "/" in name or "\\" in name or "\0" in name:
        msg = f"{what} {name!r} must be a plain file name without path separators"
        raise ValueError(msg)
    if ".." in name:
        msg = f"{what} {name!r} must not contain '..'"
        raise ValueError(msg)
    if name.startswith("."):
        msg = f"{what} {name!r} must not start with '.' (hidden and temporary files are not inputs)"
        raise ValueError(msg)
    return name


def check_length(value: str, what: str = "name") -> str:
    """Return ``value`` if each of its parts (a name, or a path's folder and file names) fits a file name.

    Else ValueError: a longer part would only fail later, mid-run, as "[Errno 36] File name too long".
    """
    for part in value.replace("\\", "/").split("/"):
        size = len(part.encode(errors="surrogateescape"))
        if size > NAME_MAX_BYTES:
            shown = part if len(part) <= 40 else f"{part[:24]}...{part[-12:]}"
            msg = f"{what} {shown!r} is {size} bytes long; a file name may have at most {NAME_MAX_BYTES}"
            raise ValueError(msg)
    return value


def check_style(style: str | None) -> str | None:
    """Return a normalized style: None, an index ``"3"`` or a blend ``"3:0.5,12:0.5"``; else ValueError.

    The grammar is the engine's (:func:`neural_style.styles.check_style`); this only drops the spaces so
    one style has one spelling in task ids and output names.
    """
    if style is None:
        return None
    text = str(style).replace(" ", "")
    check_style_grammar(text)
    return text


def strength_label(strength: float) -> str:
    """Return the name part of a style strength below 1 (``k0.7``); '' at full strength."""
    return "" if strength == 1.0 else f"k{strength:g}"


def style_label(style: str | None) -> str:
    """Return a file-name-safe label for a style ('' for none)."""
    if style is None:
        return ""
    return "s" + _UNSAFE_LABEL.sub("_", style.replace(":", "x").replace(",", "+"))


def version_hash(key: Mapping[str, object]) -> str:
    """Return a short salted hash of ``key`` (canonical JSON), the version stamp of an output."""
    text = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
    return hash_str(text, salt=VERSION_SALT).hex()[:HASH_CHARS]


def stylized_name(
    image: str,
    model: str,
    style: str | None,
    *,
    versions: Mapping[str, object],
    style_image: str | None = None,
    strength: float = 1.0,
    preserve_color: bool = False,
) -> str:
    """Return the versioned file name of ``image`` stylized by ``model`` (or by the picture ``style_image``).

    ``image-stem--model-stem[--style][--k<strength>][--color]--<hash><image suffix>``, or with a style picture
    ``image-stem--by-<picture stem>[...]--<hash>``: a readable prefix, and a hash of the parameters plus
    ``versions`` (engine version, the inputs' versions), so any change yields a new name. Strength and
    colour enter the hash only when not at their defaults, so the names of plain model pairs never change.
    """
    image_path = PurePosixPath(check_name(image, "image"))
    key: dict[str, object]
    # The readable parts are clipped so the name stays within NAME_MAX (255 bytes); the hash keeps it unique.
    parts = [_clip(image_path.stem, 80)]
    if style_image is not None:
        key = {"image": image, "style_image": style_image, "versions": dict(versions)}
        parts.append(_clip("by-" + PurePosixPath(check_name(style_image, "style image")).stem, 60))
    else:
        key = {"image": image, "model": model, "style": style, "versions": dict(versions)}
        parts.append(_clip(PurePosixPath(check_name(model, "model")).stem, 60))
        if style is not None:
            parts.append(_clip(style_label(style), 40))
    if strength != 1.0:
        key["strength"] = float(strength)
        parts.append(strength_label(strength))
    if preserve_color:
        key["preserve_color"] = True
        parts.append("color")
    parts.append(version_hash(key))
    suffix = image_path.suffix.lower()
    return "--".join(parts) + (suffix if suffix in _OUTPUT_SUFFIXES else ".png")


def _clip(text: str, max_bytes: int) -> str:
    """Return ``text`` cut to at most ``max_bytes`` of UTF-8, never splitting a character."""
    return text.encode()[:max_bytes].decode(errors="ignore")
