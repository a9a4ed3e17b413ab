"""Make ``docs/demo-contact-sheet.png``, the README's one picture, from the contact sheet `make demo` drew.

Run after ``make demo``: ``.venv/bin/python docs/make_readme_picture.py [SHEET]``. The sheet is shrunk and
reduced to a palette until the file is at most 200 KB, the limit for the one image kept in git. The sample
photo in it is a US Navy photo in the public domain (matplotlib's ``grace_hopper.jpg``).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from PIL import Image

from csci_utils.io import atomic_write

LIMIT_BYTES = 200_000
OUTPUT = Path(__file__).resolve().parent / "demo-contact-sheet.png"


def newest_sheet(cache: Path) -> Path:
    """Return the newest contact sheet in ``cache``/contact_sheets (FileNotFoundError if there is none)."""
    sheets = sorted((cache / "contact_sheets").glob("contact-*.png"), key=lambda p: p.stat().st_mtime)
    if not sheets:
        msg = f"no contact sheet in {cache / 'contact_sheets'}: run `make demo` first"
        raise FileNotFoundError(msg)
    return sheets[-1]


def small_png(sheet: Image.Image, limit: int = LIMIT_BYTES) -> bytes:
    """Return ``sheet`` as PNG bytes of at most ``limit``: a 256-colour palette, shrunk until it fits."""
    picture = sheet.convert("RGB")
    while True:
        buffer = io.BytesIO()
        picture.quantize(colors=256, dither=Image.Dither.FLOYDSTEINBERG).save(buffer, "PNG", optimize=True)
        if buffer.tell() <= limit:
            return buffer.getvalue()
        width, height = picture.size
        picture = picture.resize((width * 9 // 10, height * 9 // 10), Image.Resampling.LANCZOS)


def main(argv: list[str] | None = None) -> int:
    """Write the README picture; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sheet", nargs="?", type=Path, help="a contact sheet (default: the demo's newest)")
    args = parser.parse_args(argv)
    try:
        source = args.sheet or newest_sheet(Path("data"))
        with Image.open(source) as sheet:
            data = small_png(sheet)
    except (FileNotFoundError, OSError) as err:
        print(f"make_readme_picture: error: {err}", file=sys.stderr)
        return 3
    with atomic_write(OUTPUT, "wb", overwrite=True) as handle:
        handle.write(data)
    print(f"{OUTPUT} ({len(data) // 1000} KB) from {source}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
