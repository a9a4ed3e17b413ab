"""The gallery page in a real browser: Debian's Chromium, headless, opening the page from a local remote."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from pset_4.cli import main
from pset_4.gallery import HEADLESS_CHROMIUM

pytestmark = pytest.mark.slow

HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1">.jpg'


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("Chromium is not installed: `apt-get install chromium` (Debian) runs the browser tests")
    return found


@pytest.fixture
def gallery(roots, make_photo, multistyle) -> Path:
    """A remote with three photos (one named like markup) in two styles; return its page."""
    for index, name in enumerate(["a.jpg", "b.png", HOSTILE]):
        make_photo(roots.remote_images / name, seed=index)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    argv = ["-i", "a.jpg", "-i", "b.png", "-i", HOSTILE, "-m", "multi.onnx", "--style", "1", "--style", "2"]
    assert main(argv) == 0
    return roots.remote / "gallery" / "index.html"


def _dom(chromium: str, tmp_path: Path, url: str) -> str:
    """Return the page's DOM once it has loaded and its script has run."""
    done = subprocess.run(
        [chromium, *HEADLESS_CHROMIUM, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'data-ready="1"' in done.stdout, "the page's load handler did not run"
    return done.stdout


def _shown(dom: str) -> list[tuple[str, str]]:
    """Return (photo, style) of each card the page shows (not hidden)."""
    cards = re.findall(r"<figure ([^>]*)>", dom)
    return [
        (re.search(r'data-photo="([^"]*)"', card).group(1), re.search(r'data-style="([^"]*)"', card).group(1))
        for card in cards
        if "hidden" not in card
    ]


def test_every_picture_of_the_page_loads(chromium: str, gallery: Path, tmp_path: Path) -> None:
    dom = _dom(chromium, tmp_path, gallery.as_uri())
    states = re.findall(r'<img [^>]*data-state="(\w+)"', dom)
    assert len(states) == 9  # three photos, each with two results
    assert set(states) == {"loaded"}


def test_a_name_like_markup_is_text_in_the_browser(chromium: str, gallery: Path, tmp_path: Path) -> None:
    dom = _dom(chromium, tmp_path, gallery.as_uri())
    assert "data-pwned" not in dom
    assert len(re.findall(r"<img ", dom)) == 9


def test_the_photo_filter_shows_that_photo_only(chromium: str, gallery: Path, tmp_path: Path) -> None:
    dom = _dom(chromium, tmp_path, gallery.as_uri() + "#photo=b.png")
    assert _shown(dom) == [("b.png", "source"), ("b.png", "multi style 1"), ("b.png", "multi style 2")]
    assert "2 result(s) shown" in dom


def test_the_style_filter_shows_that_style_beside_each_photo(
    chromium: str, gallery: Path, tmp_path: Path
) -> None:
    dom = _dom(chromium, tmp_path, gallery.as_uri() + "#style=multi%20style%202")
    shown = _shown(dom)
    assert [style for _, style in shown if style != "source"] == ["multi style 2"] * 3
    assert len(shown) == 6


def test_a_screenshot_of_the_page_shows_the_pictures(chromium: str, gallery: Path, tmp_path: Path) -> None:
    shot = tmp_path / "gallery.png"
    window = ["--window-size=1200,800", f"--screenshot={shot}"]
    done = subprocess.run(
        [chromium, *HEADLESS_CHROMIUM, f"--user-data-dir={tmp_path / 'profile'}", *window, gallery.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    with Image.open(shot) as picture:
        assert picture.size == (1200, 800)
        colours = picture.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 1000  # thumbnails, not a blank or error page
