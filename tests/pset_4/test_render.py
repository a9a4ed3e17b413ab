"""The one renderer: one load of a model serves every style (a replaced file or thread cap loads again), a
style picture is encoded once for every task that uses it, and the picture is written in full."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import neural_style.loading
from pset_4 import render
from pset_4.render import cached_model, preload, render_picture, stylizer_for

STYLES = [str(s) for s in range(26)]


@dataclass(frozen=True)
class Request:
    """A stylize task's parameters, as the renderer reads them."""

    style: str | None = None
    style_image: str | None = None
    strength: float = 1.0
    preserve_color: bool = False


def stylize_into(photo: Path, model: Path, output: str, *, style: str | None = None) -> None:
    render_picture(stylizer_for(Request(style=style), {"model": str(model)}, threads=None), photo, output)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    render.clear()
    yield
    render.clear()


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every real model load (the engine's own load_model still does the work)."""
    seen: list[Path] = []
    real = neural_style.loading.load_model

    def counting(path: str | os.PathLike[str], **kwargs: object) -> object:
        seen.append(Path(path))
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(neural_style.loading, "load_model", counting)
    return seen


@pytest.fixture
def model(tmp_path: Path, multistyle: Path) -> Path:
    """A private copy of the 26-style model (tests replace it)."""
    return Path(shutil.copyfile(multistyle, tmp_path / "multistyle26.onnx"))


def test_one_load_serves_all_26_styles(
    roots: object, model: Path, tmp_path: Path, loads: list[Path], make_photo: Callable[..., Path]
) -> None:
    photo = make_photo(tmp_path / "photo.png")
    for style in STYLES:
        stylize_into(photo, model, str(tmp_path / f"out-{style}.png"), style=style)
    assert loads == [model.resolve()]


def test_styles_differ_though_the_session_is_shared(
    roots: object, model: Path, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    photo = make_photo(tmp_path / "photo.png")
    stylize_into(photo, model, str(tmp_path / "a.png"), style="0")
    stylize_into(photo, model, str(tmp_path / "b.png"), style="25")
    a, b = (np.asarray(Image.open(tmp_path / n)) for n in ("a.png", "b.png"))
    assert np.abs(a.astype(int) - b.astype(int)).max() > 8


def test_a_replaced_model_file_is_loaded_again(
    roots: object, model: Path, tmp_path: Path, loads: list[Path]
) -> None:
    first = cached_model(model)
    replacement = tmp_path / "replacement.onnx"
    shutil.copyfile(model, replacement)
    os.utime(replacement, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 10**9))
    replacement.replace(model)
    second = cached_model(model)
    assert second is not first
    assert len(loads) == 2


def test_a_different_thread_cap_loads_again_and_none_takes_the_loaded(
    roots: object, model: Path, loads: list[Path]
) -> None:
    one = cached_model(model, threads=1)
    assert cached_model(model) is one
    assert cached_model(model, threads=2) is not one
    assert len(loads) == 2


def test_loads_with_two_thread_caps_are_kept_side_by_side(
    roots: object, model: Path, loads: list[Path]
) -> None:
    one = cached_model(model, threads=1)
    two = cached_model(model, threads=2)
    assert cached_model(model, threads=1) is one
    assert cached_model(model, threads=2) is two
    assert len(loads) == 2


def test_preload_loads_what_exists_and_skips_what_does_not(
    roots: object, model: Path, tmp_path: Path, loads: list[Path]
) -> None:
    assert preload([model, tmp_path / "not-downloaded-yet.onnx"], threads=1) == 1
    cached_model(model)
    assert loads == [model.resolve()]


def test_preload_skips_a_file_that_is_not_a_model(roots: object, model: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not a model")
    assert preload([garbage, model], threads=1) == 1  # the tasks using it fail later, with the reason


def test_a_bad_style_for_a_multistyle_model_is_a_value_error(
    roots: object, model: Path, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    photo = make_photo(tmp_path / "photo.png")
    with pytest.raises(ValueError, match="style"):
        stylize_into(photo, model, str(tmp_path / "out.png"), style="99")


def test_the_picture_is_written_at_the_photos_size(
    roots: object, model: Path, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    photo = make_photo(tmp_path / "photo.png")
    stylize_into(photo, model, str(tmp_path / "out.jpg"), style="3")
    with Image.open(tmp_path / "out.jpg") as written, Image.open(photo) as original:
        assert (written.format, written.size) == ("JPEG", original.size)


def test_a_style_picture_is_encoded_once_for_every_task_that_uses_it(
    roots: object, tmp_path: Path, make_photo: Callable[..., Path]
) -> None:
    picture = make_photo(tmp_path / "waves.png", seed=3)
    inputs = {"style_image": str(picture)}
    first = stylizer_for(Request(style_image="waves.png", strength=0.5), inputs, threads=1)
    assert stylizer_for(Request(style_image="waves.png", strength=0.5), inputs, threads=1) is first
    assert stylizer_for(Request(style_image="waves.png"), inputs, threads=1) is not first


def test_a_missing_style_picture_is_named(roots: object, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"style image not found: .*gone\.png"):
        stylizer_for(Request(style_image="gone.png"), {"style_image": str(tmp_path / "gone.png")}, threads=1)
