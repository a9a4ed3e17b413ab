"""Photos come in upright RGB whatever their mode; bad files get clear errors; outputs are atomic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from neural_style.errors import NeuralStyleError
from neural_style.image import load_image, save_image, saving_format, scale_image


def test_exif_orientation_is_applied(tmp_path):
    picture = Image.new("RGB", (20, 10), (255, 0, 0))
    picture.paste((0, 0, 255), (10, 0, 20, 10))  # left red, right blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    path = tmp_path / "sideways.png"
    picture.save(path, exif=exif)
    upright = load_image(path)
    assert upright.size == (10, 20)
    assert upright.getpixel((5, 2)) == (255, 0, 0)  # the left side is now on top
    assert upright.getpixel((5, 17)) == (0, 0, 255)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "1", "I;16"])
def test_any_mode_comes_back_as_rgb(tmp_path, make_photo, mode):
    suffix = ".jpg" if mode == "CMYK" else ".png"
    path = make_photo(tmp_path / f"photo{suffix}", mode=mode if mode != "I;16" else "L")
    if mode == "I;16":
        gray = np.asarray(Image.open(path), dtype=np.uint16) * 257
        Image.fromarray(gray).save(path)
    picture = load_image(path)
    assert (picture.mode, picture.size) == ("RGB", (48, 40))
    if mode in {"L", "I;16"}:
        with Image.open(make_photo(tmp_path / "ref.png", mode="L")) as reference:
            expected = np.asarray(reference)
        assert np.array_equal(np.asarray(picture)[..., 0], expected)


def test_palette_image_with_transparency_loads(tmp_path):
    picture = Image.new("P", (16, 16), 1)
    picture.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    path = tmp_path / "icon.png"
    picture.save(path, transparency=0)
    assert load_image(path).getpixel((3, 3)) == (200, 100, 50)


def test_missing_image_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.jpg"):
        load_image(tmp_path / "nowhere.jpg")


def test_a_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not a picture")
    with pytest.raises(NeuralStyleError, match="not an image"):
        load_image(path)


def test_a_truncated_image_is_refused(tmp_path, make_photo):
    path = make_photo(tmp_path / "photo.png")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(NeuralStyleError, match="corrupt or truncated"):
        load_image(path)


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (14_000, 14_000)).save(path)  # 196 MP of nothing: a few kB on disk
    assert path.stat().st_size < 100_000
    with pytest.raises(NeuralStyleError, match="decompression bomb"):
        load_image(path)


def test_pixel_limit_is_adjustable(tmp_path, make_photo):
    with pytest.raises(NeuralStyleError, match="more than the 1000 allowed"):
        load_image(make_photo(tmp_path / "photo.png"), max_pixels=1000)


def test_content_scale_divides_and_truncates_sides():
    assert scale_image(Image.new("RGB", (101, 50)), 2.0).size == (50, 25)
    assert scale_image(Image.new("RGB", (101, 50)), None).size == (101, 50)


@pytest.mark.parametrize("scale", [0, -1, float("nan"), float("inf"), 30])
def test_bad_content_scale_is_refused(scale):
    with pytest.raises(NeuralStyleError, match="content-scale"):
        scale_image(Image.new("RGB", (101, 50)), scale)


def test_save_image_refuses_an_unknown_suffix_and_writes_nothing(tmp_path):
    with pytest.raises(NeuralStyleError, match=r"\.jpg or \.png"):
        save_image(Image.new("RGB", (8, 8)), tmp_path / "out.xyz")
    assert list(tmp_path.iterdir()) == []


def test_save_image_into_a_missing_folder_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        save_image(Image.new("RGB", (8, 8)), tmp_path / "no" / "out.png")


def test_failed_save_leaves_no_partial_file(tmp_path):
    with pytest.raises(OSError, match="cannot write mode"):
        save_image(Image.new("RGBA", (8, 8)), tmp_path / "out.jpg")  # JPEG has no alpha
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    magic=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"BM", b"II*\x00"]),
    body=st.binary(max_size=300),
)
def test_arbitrary_bytes_give_a_picture_or_a_clear_error(tmp_path, magic, body):
    path = tmp_path / "upload.img"
    path.write_bytes(magic + body)
    message = ""
    try:
        picture = load_image(path)
    except NeuralStyleError as err:
        message = str(err)
    else:
        assert picture.mode == "RGB"
    assert "\n" not in message


@pytest.mark.parametrize(
    ("suffix", "expected"), [(".png", "PNG"), (".JPG", "JPEG"), (".tif", "TIFF"), (".webp", "WEBP")]
)
def test_saving_format_follows_the_suffix(suffix, expected):
    assert saving_format(suffix) == expected


def test_saving_format_of_an_unknown_suffix_is_none():
    assert saving_format(".xyz") is None


@pytest.mark.parametrize("name", ["out.png", "out.tiff", "out.bmp"])
def test_saved_lossless_pictures_keep_every_pixel(tmp_path, name):
    pixels = np.random.default_rng(0).integers(0, 256, (33, 47, 3), dtype=np.uint8)
    save_image(Image.fromarray(pixels, "RGB"), tmp_path / name)
    with Image.open(tmp_path / name) as saved:
        assert np.array_equal(np.asarray(saved.convert("RGB")), pixels)
