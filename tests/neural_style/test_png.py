"""Our PNG encoder: Pillow reads the same pixels back, one zlib stream; other pictures go to Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from neural_style.image import encode_image
from neural_style.png import average_filtered, encode_png, encodes


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split PNG bytes into (type, data) chunks, checking each chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        position += 12 + length
    return chunks


def _picture(mode: str, width: int, height: int, seed: int, *, smooth: bool = False) -> Image.Image:
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    rng = np.random.default_rng(seed)
    if smooth:  # a photo-like picture: gradients and a little noise
        ramp = np.add.outer(np.arange(height), np.arange(width))[..., None] * np.arange(1, channels + 1)
        pixels = (ramp + rng.integers(0, 4, (height, width, channels))) % 256
    else:
        pixels = rng.integers(0, 256, (height, width, channels))
    array = pixels.astype(np.uint8)
    return Image.fromarray(array[..., 0] if mode == "L" else array, mode)


@settings(max_examples=40, deadline=None)
@given(
    mode=st.sampled_from(["L", "RGB", "RGBA"]),
    width=st.integers(1, 70),
    height=st.integers(1, 70),
    pieces=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_pillow_reads_back_the_same_pixels(
    mode: str, width: int, height: int, pieces: int, seed: int
) -> None:
    picture = _picture(mode, width, height, seed)
    encoded = encode_png(picture, pieces=pieces)
    with Image.open(io.BytesIO(encoded)) as decoded:
        assert decoded.mode == mode
        assert decoded.size == (width, height)
        assert np.array_equal(np.asarray(decoded), np.asarray(picture))


@pytest.mark.parametrize("pieces", [1, 2, 3, 8])
def test_pieces_make_one_valid_zlib_stream_of_the_filtered_rows(pieces: int) -> None:
    picture = _picture("RGB", 640, 480, seed=pieces, smooth=True)  # 900 KB: three pieces at most
    chunks = _chunks(encode_png(picture, pieces=pieces))
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    rows = np.asarray(picture).reshape(480, 640 * 3)
    # zlib.decompress checks the stream's Adler-32 and that it ends where the data ends.
    assert zlib.decompress(chunks[1][1]) == average_filtered(rows, 3).tobytes()
    with Image.open(io.BytesIO(encode_png(picture, pieces=pieces))) as decoded:
        assert np.array_equal(np.asarray(decoded), np.asarray(picture))


def test_the_average_filter_is_pngs() -> None:
    rows = np.array([[10, 20, 30, 250], [0, 255, 7, 9]], np.uint8)  # two pixels of two channels per row
    filtered = average_filtered(rows, 2)
    assert filtered[:, 0].tolist() == [3, 3]
    # byte - floor((left + up) / 2) mod 256; left is one pixel (two bytes) back; 0 outside the picture
    assert filtered[0, 1:].tolist() == [10, 20, (30 - 5) % 256, (250 - 10) % 256]
    assert filtered[1, 1:].tolist() == [(0 - 5) % 256, (255 - 10) % 256, (7 - 15) % 256, (9 - 252) % 256]


def test_a_band_filters_as_the_whole_does() -> None:
    rows = np.asarray(_picture("RGB", 33, 20, seed=3)).reshape(20, 99)
    whole = average_filtered(rows, 3)
    assert np.array_equal(average_filtered(rows, 3, 7, 15), whole[7:15])


@pytest.mark.parametrize("mode", ["P", "I;16", "1", "LA", "CMYK"])
def test_other_modes_are_left_to_pillow(mode: str) -> None:
    picture = Image.new(mode, (8, 8))
    assert not encodes(picture)
    with pytest.raises(ValueError, match="mode"):
        encode_png(picture)


def test_a_picture_with_metadata_keeps_it_through_pillow() -> None:
    picture = _picture("RGB", 16, 16, seed=1)
    profile = b"not a real profile, but Pillow carries it as it is"
    picture.info["icc_profile"] = profile
    assert not encodes(picture)
    with Image.open(io.BytesIO(encode_image(picture, "PNG"))) as decoded:
        assert decoded.info.get("icc_profile") == profile


def test_encode_image_writes_plain_pictures_with_our_encoder() -> None:
    picture = _picture("RGB", 40, 30, seed=2, smooth=True)
    assert encode_image(picture, "PNG") == encode_png(picture)
