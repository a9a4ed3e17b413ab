"""Make the README's two pictures from what `make demo` made: the contact sheet and the remote's gallery.

Run after ``make demo``: ``.venv/bin/python docs/make_readme_picture.py [SHEET]``. It writes
``docs/demo-contact-sheet.png`` from the sheet, and ``docs/demo-gallery.png``, a screenshot of
``data/remote/gallery/index.html`` taken by headless Chromium (Debian's ``chromium``). Each is shrunk and
reduced to a palette until the file is at most 200 KB, the limit for an image kept in git. The sample photo
in them is a US Navy photo in the public domain (matplotlib's ``grace_hopper.jpg``).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from csci_utils.io import atomic_write

LIMIT_BYTES = 200_000
OUTPUT = Path(__file__).resolve().parent / "demo-contact-sheet.png"
GALLERY_OUTPUT = Path(__file__).resolve().parent / "demo-gallery.png"
GALLERY_WINDOW = (1100, 430)


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


def gallery_screenshot(page: Path, scratch: Path) -> Image.Image:
    """Return a screenshot of the gallery ``page`` as headless Chromium draws it."""
    from pset_4.gallery import HEADLESS_CHROMIUM

    chromium = shutil.which("chromium")
    if chromium is None:
        msg = "Chromium is not installed: apt-get install chromium"
        raise FileNotFoundError(msg)
    if not page.is_file():
        msg = f"no gallery page at {page}: run `make demo` first"
        raise FileNotFoundError(msg)
    shot = scratch / "gallery.png"
    window = f"--window-size={GALLERY_WINDOW[0]},{GALLERY_WINDOW[1]}"
    command = [chromium, *HEADLESS_CHROMIUM, f"--user-data-dir={scratch / 'profile'}", window]
    subprocess.run(
        [*command, f"--screenshot={shot}", page.resolve().as_uri()], capture_output=True, check=True
    )
    with Image.open(shot) as picture:
        picture.load()
        return picture.copy()


def _write(path: Path, data: bytes) -> None:
    with atomic_write(path, "wb", overwrite=True) as handle:
        handle.write(data)
    print(f"{path} ({len(data) // 1000} KB)")


def main(argv: list[str] | None = None) -> int:
    """Write the README picture; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sheet", nargs="?", type=Path, help="a contact sheet (default: the demo's newest)")
    args = parser.parse_args(argv)
    try:
        source = args.sheet or newest_sheet(Path("data"))
        with Image.open(source) as sheet:
            sheet_png = small_png(sheet)
        with tempfile.TemporaryDirectory(prefix="readme-picture-") as scratch:
            gallery_png = small_png(gallery_screenshot(Path("data/remote/gallery/index.html"), Path(scratch)))
    except (FileNotFoundError, OSError, subprocess.CalledProcessError) as err:
        print(f"make_readme_picture: error: {err}", file=sys.stderr)
        return 3
    _write(OUTPUT, sheet_png)
    _write(GALLERY_OUTPUT, gallery_png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
