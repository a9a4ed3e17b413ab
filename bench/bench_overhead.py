"""The workflow's own cost: ``python -m pset_4`` against a plain loop over the same pairs, in own processes.

The plain loop is what a user would write instead of the workflow: one process that loads the 26-style model
once, then for every (photo, style) pair decodes the photo, stylizes it and saves the picture in the photo's
format. ``python -m pset_4`` does the same pairs on a fresh local remote (upload, download into its cache,
stylize, check, publish, no contact sheet, no gallery), as a user runs it (``--workers`` auto: one task per
core) and, for the workflow's own cost per pair, with ``--workers 1`` (one task at a time, as the loop).
Each is timed from process start to exit, rounds alternating in order, and the figure of each is its median.

Target (issue 20): the workflow within 1.15x of the loop, 20 photos x 4 styles at 256x192. JPEG photos by
default (the smaller share of common work: encoding a picture costs the loop as much as the workflow);
``--format png`` gives PNG photos and pictures, as the issue's first figure had. It prints the CPU first, the
figures last, and exits 1 when the target is missed.

    .venv/bin/python bench/bench_overhead.py [--photos 20] [--styles 4] [--size 256] [--rounds 3]
        [--format jpg|png]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from bench_cli import installed_env, timed_command
from bench_workflow import write_photos

TARGET = 1.15


def plain_loop(photos: list[Path], styles: list[str], out: Path) -> None:
    """In this process: the loop a user would write, model loaded once, every picture saved."""
    from neural_style.image import load_image, save_image
    from neural_style.loading import load_model, multistyle_model_path

    out.mkdir(parents=True, exist_ok=True)
    model = load_model(multistyle_model_path())
    stylizers = [model.with_style(int(style)) for style in styles]
    for photo in photos:
        image = load_image(photo)
        for style, stylizer in zip(styles, stylizers, strict=True):
            save_image(stylizer.stylize(image), out / f"{photo.stem}-s{style}{photo.suffix}")


def workflow_command(place: Path, photos: list[Path], styles: list[str], *extra: str) -> list[str]:
    """Make a fresh local remote under ``place`` holding the photos and the model; return the command."""
    from neural_style.loading import multistyle_model_path

    remote = place / "remote"
    (remote / "images").mkdir(parents=True)
    (remote / "saved_models").mkdir()
    for photo in photos:
        shutil.copyfile(photo, remote / "images" / photo.name)
    shutil.copyfile(multistyle_model_path(), remote / "saved_models" / "multistyle26.onnx")
    command = [sys.executable, "-m", "pset_4", "--remote", str(remote), "--cache", str(place / "cache")]
    command += ["-m", "multistyle26.onnx", "--no-contact-sheet", "--no-gallery"]
    for photo in photos:
        command += ["-i", photo.name]
    for style in styles:
        command += ["--style", style]
    return command + list(extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--styles", type=int, default=4, help="styles of the 26-style model (<= 26)")
    parser.add_argument("--size", type=int, default=256, help="photo width in pixels (height is 3/4)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--format", choices=("jpg", "png"), default="jpg", help="the photos' format, so the pictures' too"
    )
    parser.add_argument("--loop", nargs=2, metavar=("PHOTOS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    styles = [str(s) for s in np.linspace(0, 25, args.styles).astype(int)]
    if args.loop:
        plain_loop(sorted(Path(args.loop[0]).glob(f"*.{args.format}")), styles, Path(args.loop[1]))
        return 0

    from neural_style.hardware import describe_cpu

    print(describe_cpu(), flush=True)
    sides = {"loop": (), "workflow": (), "one worker": ("--workers", "1")}
    spent: dict[str, list[float]] = {side: [] for side in sides}
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as folder:
        work = Path(folder)
        names = write_photos(work / "photos", args.photos, args.size, f".{args.format}")
        photos = [work / "photos" / name for name in names]
        engine_cache = work / "engine-cache"  # shared: both sides find the optimised graph cached
        env = installed_env(NEURAL_STYLE_CACHE=str(engine_cache))  # modules byte-compiled, as installed
        loop_args = ["--photos", str(args.photos), "--styles", str(args.styles), "--format", args.format]
        warm = [sys.executable, __file__, *loop_args, "--loop", str(work / "photos"), str(work / "warm")]
        timed_command(warm, work, env)
        (work / "warm-workflow").mkdir()
        timed_command(workflow_command(work / "warm-workflow", photos, styles), work, env)
        for round_number in range(args.rounds):
            order = list(sides) if round_number % 2 == 0 else list(reversed(sides))
            for number, side in enumerate(order):
                place = work / f"{round_number}-{number}"
                place.mkdir()
                if side == "loop":
                    command = [sys.executable, __file__, *loop_args, "--loop", str(work / "photos")]
                    command.append(str(place / "out"))
                else:
                    command = workflow_command(place, photos, styles, *sides[side])
                spent[side].append(timed_command(command, place, env))
    pairs = args.photos * len(styles)
    loop, workflow = statistics.median(spent["loop"]), statistics.median(spent["workflow"])
    one_worker = statistics.median(spent["one worker"])
    ratio = workflow / loop
    print(
        f"{args.photos} photos x {len(styles)} styles at {args.size}x{args.size * 3 // 4} px, "
        f"{args.format.upper()} in and out, {args.rounds} rounds, medians, "
        "each run a fresh process from start to exit"
    )
    for label, side, median in (
        ("plain loop:      ", "loop", loop),
        ("python -m pset_4:", "workflow", workflow),
        ("  --workers 1:   ", "one worker", one_worker),
    ):
        spread = f"{min(spent[side]):.2f}-{max(spent[side]):.2f} s"
        print(f"{label} {median:6.2f} s  ({median / pairs * 1e3:5.1f} ms per pair; rounds {spread})")
    ratios = sorted(w / loop_round for w, loop_round in zip(spent["workflow"], spent["loop"], strict=True))
    print("workflow / loop, round by round: " + " ".join(f"{r:.2f}x" for r in ratios))
    print(
        f"one task at a time / loop: {one_worker / loop:.2f}x; the workflow's own cost "
        f"{(one_worker - loop) / pairs * 1e3:.1f} ms per pair"
    )
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(f"workflow / loop: {ratio:.2f}x (target at most {TARGET}x): {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
