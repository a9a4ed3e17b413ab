"""The gallery of the remote: a page of every result, grouped by photo, built by Luigi tasks."""

from __future__ import annotations

import re
import shutil

import pytest
from PIL import Image

from pset_4.cli import main
from pset_4.gallery import Entry, entries_of, parse_result, render_page


@pytest.fixture
def remote(roots, make_photo, multistyle):
    make_photo(roots.remote_images / "a.jpg")
    make_photo(roots.remote_images / "b.png", seed=2)
    roots.remote_models.mkdir(parents=True)
    shutil.copyfile(multistyle, roots.remote_models / "multi.onnx")
    return roots


def _page(remote) -> str:
    return (remote.remote / "gallery" / "index.html").read_text(encoding="utf-8")


def _cards(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<figure class="card[^"]*" data-photo="([^"]*)" data-style="([^"]*)"', page)


def test_a_result_name_says_its_model_style_strength_colour_and_version() -> None:
    entry = parse_result("a--multi--s3x0.5+12x0.5--k0.7--color--0123456789.jpg", ["a.jpg", "a.png"])
    assert entry == Entry(
        folder="stylized",
        name="a--multi--s3x0.5+12x0.5--k0.7--color--0123456789.jpg",
        photo="a.jpg",
        model="multi",
        style="3:0.5,12:0.5",
        strength="0.7",
        color=True,
        version="0123456789",
    )
    by_picture = parse_result("a--by-wave--abcdef0123.png", ["a.png"])
    assert by_picture is not None
    assert (by_picture.style_image, by_picture.model, by_picture.style_key) == ("wave", None, "by wave")


def test_files_that_are_not_results_get_no_card() -> None:
    assert parse_result("notes.txt", ["a.jpg"]) is None
    assert entries_of(["a.jpg"], ["notes.txt", "a--multi--nothex--x.jpg"]) == []


def test_each_photo_comes_first_then_its_results_in_style_order() -> None:
    results = [f"a--multi--s{i}--{i:010d}.jpg" for i in (10, 2, 1)]
    entries = entries_of(["a.jpg"], results)
    assert [e.name for e in entries] == ["a.jpg", *(f"a--multi--s{i}--{i:010d}.jpg" for i in (1, 2, 10))]


def test_every_name_is_text_in_the_page_never_markup() -> None:
    photo = "<script>alert(1)</script>.jpg"
    result = "<script>alert(1)</script>--multi--s1--0123456789.jpg"
    entries = entries_of([photo], [result])
    page = render_page(entries, {e: f"{e.folder}--<img>.jpg" for e in entries}, title="<b>", digest="d")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.jpg" in page
    assert 'src="thumbs/images--%3Cimg%3E.jpg"' in page
    assert "<title>&lt;b&gt;</title>" in page


def test_every_batch_publishes_a_page_of_every_result_on_the_remote(remote) -> None:
    assert main(["-i", "a.jpg", "-m", "multi.onnx", "--style", "1"]) == 0
    assert main(["-i", "b.png", "-m", "multi.onnx", "--style", "2", "--strength", "0.5"]) == 0
    page = _page(remote)
    assert _cards(page) == [
        ("a.jpg", "source"),
        ("a.jpg", "multi style 1"),
        ("b.png", "source"),
        ("b.png", "multi style 2"),
    ]
    assert "strength: 0.5" in page
    for thumb in re.findall(r'<img src="thumbs/([^"]+)"', page):
        with Image.open(remote.remote / "gallery" / "thumbs" / thumb) as picture:
            picture.load()
            assert max(picture.size) <= 320
    for link in re.findall(r'<a href="\.\./([^"]+)"', page):
        assert (remote.remote / link).is_file()


def test_the_page_is_rewritten_only_when_the_remote_changed(remote) -> None:
    argv = ["-i", "a.jpg", "-m", "multi.onnx", "--style", "1"]
    assert main(argv) == 0
    page = remote.remote / "gallery" / "index.html"
    written = page.stat().st_mtime_ns
    assert main(argv) == 0
    assert page.stat().st_mtime_ns == written
    assert main([*argv, "--style", "4"]) == 0
    assert page.stat().st_mtime_ns != written
    assert ("a.jpg", "multi style 4") in _cards(_page(remote))


def test_no_gallery_leaves_the_page_alone(remote) -> None:
    assert main(["-i", "a.jpg", "-m", "multi.onnx", "--style", "1", "--no-gallery"]) == 0
    assert not (remote.remote / "gallery").exists()


def test_an_unreadable_result_still_gets_a_card(remote) -> None:
    (remote.remote / "stylized").mkdir(parents=True)
    (remote.remote / "stylized" / "a--multi--s7--0123456789.jpg").write_bytes(b"not a picture")
    assert main(["-i", "a.jpg", "-m", "multi.onnx", "--style", "1"]) == 0
    assert ("a.jpg", "multi style 7") in _cards(_page(remote))


def test_the_page_location_is_in_the_summary(remote, capsys) -> None:
    assert main(["-i", "a.jpg", "-m", "multi.onnx", "--style", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"gallery: {remote.remote / 'gallery' / 'index.html'}" in lines
