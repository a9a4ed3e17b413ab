"""Names the workflow accepts and the versioned names of what it produces."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from csci_utils.hashing import hash_str

# A public, fixed salt: the hash versions outputs (it is not a secret and must be the same on every machine
# sharing a remote). Change it to invalidate every output name at once.
VERSION_SALT = "pset_4/output-version/1"
HASH_CHARS = 10

_STYLE = re.compile(r"^\d+$|^\d+:\d*\.?\d+(?:,\d+:\d*\.?\d+)*$")
_OUTPUT_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
_UNSAFE_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a plain file name; else raise ValueError saying why.

    Names address objects under a root, so a separator or ``..`` could escape it.
    """
    if not isinstance(name, str) or not name.strip():
        msg = f"{what} must be a non-empty file name, got {name!r}"
        raise ValueError(msg)
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


def check_style(style: str | None) -> str | None:
    """Return a normalized style: None, an index ``"3"`` or a blend ``"3:0.5,12:0.5"``; else ValueError."""
    if style is None:
        return None
    text = str(style).replace(" ", "")
    if not _STYLE.match(text):
        msg = f"style must be an index like 3 or a blend like 3:0.5,12:0.5, got {style!r}"
        raise ValueError(msg)
    return text


def style_label(style: str | None) -> str:
    """Return a file-name-safe label for a style ('' for none)."""
    if style is None:
        return ""
    return "s" + _UNSAFE_LABEL.sub("_", style.replace(":", "x").replace(",", "+"))


def version_hash(key: Mapping[str, object]) -> str:
    """Return a short salted hash of ``key`` (canonical JSON), the version stamp of an output."""
    text = json.dumps(key, sort_keys=True, separators=(",", ":"), default=str)
    return hash_str(text, salt=VERSION_SALT).hex()[:HASH_CHARS]


def stylized_name(image: str, model: str, style: str | None, *, versions: Mapping[str, object]) -> str:
    """Return the versioned file name of ``image`` stylized by ``model``.

    ``image-stem--model-stem[--style]--<hash><image suffix>``: readable prefix, and a hash of the parameters
    plus ``versions`` (engine version, the inputs' versions), so any change yields a new name.
    """
    image_path = PurePosixPath(check_name(image, "image"))
    model_stem = PurePosixPath(check_name(model, "model")).stem
    key = {"image": image, "model": model, "style": style, "versions": dict(versions)}
    # The readable parts are clipped so the name stays within NAME_MAX (255 bytes); the hash keeps it unique.
    parts = [_clip(image_path.stem, 80), _clip(model_stem, 60)]
    if style is not None:
        parts.append(_clip(style_label(style), 40))
    parts.append(version_hash(key))
    suffix = image_path.suffix.lower()
    return "--".join(parts) + (suffix if suffix in _OUTPUT_SUFFIXES else ".png")


def _clip(text: str, max_bytes: int) -> str:
    """Return ``text`` cut to at most ``max_bytes`` of UTF-8, never splitting a character."""
    return text.encode()[:max_bytes].decode(errors="ignore")
