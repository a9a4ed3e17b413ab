"""Workflow throughput: N photos x S styles through pset_4 vs the example's one-process-per-pair way.

The example's way is stood in for by one ``python -m neural_style eval`` process per (photo, style) pair:
start, import, load the model, stylize one photo, save -- what a shell loop over the example's command does.
By default only a sample of pairs is run that way and the total is extrapolated (say ``--sample-pairs 0``
to run them all). Everything runs on a local-folder remote in a temporary directory.

    .venv/bin/python bench/bench_workflow.py [--photos 20] [--styles 4] [--size 256] [--sample-pairs 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

PYTHON = sys.executable


def write_photos(folder: Path, count: int, size: int) -> list[str]:
    """Write ``count`` smooth random photos, ``size`` px wide (4:3), as JPEG; return their names."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    w, h = size, size * 3 // 4
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    names = []
    for i in range(count):
        f = rng.uniform(2, 9, size=3)
        pixels = np.stack([np.sin(f[0] * x + i), np.cos(f[1] * y), np.sin(f[2] * x * y)], axis=-1)
        name = f"photo{i:02d}.jpg"
        Image.fromarray((pixels * 120 + 128).astype(np.uint8)).save(folder / name, quality=90)
        names.append(name)
    return names


def seed(root: Path, photos: Path, model: Path) -> dict[str, str]:
    """Make a fresh remote (copies of the photos and the model) and cache under ``root``; return the env."""
    remote = root / "remote"
    shutil.copytree(photos, remote / "images")
    (remote / "saved_models").mkdir(parents=True)
    shutil.copyfile(model, remote / "saved_models" / model.name)
    return {**os.environ, "PSET4_REMOTE_ROOT": str(remote), "PSET4_CACHE_ROOT": str(root / "cache")}


def timed_run(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Run a command, fail loudly if it fails, return its wall time."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return elapsed


def workflow_command(names: list[str], model: str, styles: list[str], workers: int) -> list[str]:
    command = [PYTHON, "-m", "pset_4", "-m", model, "--workers", str(workers), "--no-contact-sheet"]
    for name in names:
        command += ["-i", name]
    for style in styles:
        command += ["--style", style]
    return command


def engine_loop(photos: Path, names: list[str], model: Path, styles: list[str], out: Path) -> float:
    """Stylize every pair in this process with the engine alone (models loaded once): the floor."""
    from neural_style.engine import load_model
    from neural_style.image import load_image

    out.mkdir()
    started = time.perf_counter()
    stylizers = {style: load_model(model, style=int(style)) for style in styles}
    for name in names:
        image = load_image(photos / name)
        for style, stylizer in stylizers.items():
            stylizer.stylize(image).save(out / f"{Path(name).stem}-{style}.jpg")
    return time.perf_counter() - started


def inprocess_workflow(
    root: Path, env: dict[str, str], names: list[str], model: str, styles: list[str]
) -> float:
    """Run the batch through ``run_batch`` in this process (no start-up cost), publishing included."""
    from pset_4.workflow import Batch, run_batch

    os.environ.update({k: env[k] for k in ("PSET4_REMOTE_ROOT", "PSET4_CACHE_ROOT")})
    os.chdir(root)
    started = time.perf_counter()
    report = run_batch(Batch(names, [model], styles), sheet=False, log_level="CRITICAL")
    elapsed = time.perf_counter() - started
    if not report.ok:
        sys.exit(f"in-process workflow failed: {report.failed}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--styles", type=int, default=4, help="styles of the 26-style model (<= 26)")
    parser.add_argument("--size", type=int, default=256, help="photo width in pixels (height is 3/4)")
    parser.add_argument("--overhead-size", type=int, default=32, help="photo width for the overhead run")
    parser.add_argument("--sample-pairs", type=int, default=8, help="pairs run the example's way (0: all)")
    args = parser.parse_args(argv)

    from neural_style.engine import multistyle_model_path

    model = multistyle_model_path()
    styles = [str(s) for s in np.linspace(0, 25, args.styles).astype(int)]
    pairs = args.photos * len(styles)
    with tempfile.TemporaryDirectory(prefix="bench-workflow-") as tmp:
        work = Path(tmp)
        photos = work / "photos"
        names = write_photos(photos, args.photos, args.size)

        # 1. The example's way: one process per pair (a sample, extrapolated).
        sample = [(n, s) for n in names for s in styles][: args.sample_pairs or pairs]
        (work / "per-pair").mkdir()
        started = time.perf_counter()
        for name, style in sample:
            out = work / "per-pair" / f"{Path(name).stem}-{style}.jpg"
            timed_run(
                [
                    PYTHON,
                    "-m",
                    "neural_style",
                    "eval",
                    "--content-image",
                    str(photos / name),
                    "--model",
                    str(model),
                    "--output-image",
                    str(out),
                    "--cuda",
                    "0",
                    "--style",
                    style,
                ],
                os.environ,
                work,
            )
        per_pair_process = (time.perf_counter() - started) / len(sample)
        example_total = per_pair_process * pairs

        # 2. The workflow as a user runs it (one process, download + stylize + publish), 1 then 2 workers.
        runs = {}
        for workers in (1, 2):
            root = work / f"workflow-{workers}"
            root.mkdir()
            env = seed(root, photos, model)
            runs[workers] = timed_run(workflow_command(names, model.name, styles, workers), env, root)
        rerun = timed_run(
            workflow_command(names, model.name, styles, 1), seed_env(work / "workflow-1"), work / "workflow-1"
        )

        # 3. Overhead: the same batch in this process vs the engine alone on the same pairs; best of 2 each,
        # alternating, because other work on the machine makes single timings noisy. Then the same at
        # --overhead-size px, where the engine's time is negligible and what is left is the workflow's own.
        def overhead(label: str, folder: Path, attempts: int) -> tuple[float, float, float]:
            floors, inprocs = [], []
            for attempt in range(attempts):
                floors.append(engine_loop(folder, names, model, styles, work / f"{label}-engine-{attempt}"))
                root = work / f"{label}-inprocess-{attempt}"
                root.mkdir()
                env = seed(root, folder, model)
                inprocs.append(inprocess_workflow(root, env, names, model.name, styles))
            noop = inprocess_workflow(root, env, names, model.name, styles)
            return min(floors), min(inprocs), noop

        floor, inproc, noop = overhead("full", photos, 2)
        write_photos(work / "small", args.photos, args.overhead_size)
        small_floor, small_inproc, _ = overhead("small", work / "small", 3)

    # Per pair: one Stylize and one PublishStylized task, plus a share of the downloads (photos + 1 model).
    tasks = 2 * pairs + args.photos + 1
    overhead_ms = (inproc - floor) / pairs * 1000
    h = args.size * 3 // 4
    print(
        f"workflow bench: {args.photos} photos x {len(styles)} styles ({model.name}: {','.join(styles)}), "
        f"{args.size}x{h} px, {os.cpu_count()} CPUs shared with other work (noisy: read the ratios)"
    )
    print(f"{'way':58} {'seconds':>9} {'pairs/s':>8} {'ratio':>7}")
    rows = [
        (
            f"example's way: 1 process per pair (eval; {len(sample)} run, x{pairs / len(sample):.0f})",
            example_total,
        ),
        ("workflow CLI, 1 worker (start-up, download, stylize, publish)", runs[1]),
        ("workflow CLI, 2 workers", runs[2]),
        ("workflow in-process, 1 worker (run_batch: no start-up)", inproc),
        ("engine alone in-process (models loaded once; the floor)", floor),
    ]
    for label, seconds in rows:
        print(f"{label:58} {seconds:9.2f} {pairs / seconds:8.2f} {example_total / seconds:6.1f}x")
    print(f"throughput, workflow (1 worker) vs example's way: {example_total / runs[1]:.1f}x (target >= 5x)")
    print(f"2 workers vs 1 worker: {runs[1] / runs[2]:.2f}x the throughput")
    print(
        f"workflow overhead per pair ((in-process workflow - engine alone) / {pairs}): {overhead_ms:.1f} ms "
        "(target < 50 ms; scheduling, completeness and version checks, downloads, atomic write and publish)"
    )
    per_task = (inproc - floor) / tasks * 1000
    print(f"  = {per_task:.1f} ms per Luigi task ({tasks} tasks: Stylize, publish, downloads)")
    small_ms = (small_inproc - small_floor) / tasks * 1000
    print(
        f"workflow's own overhead at {args.overhead_size} px (engine time negligible): "
        f"{(small_inproc - small_floor) / pairs * 1000:.1f} ms per pair = {small_ms:.1f} ms per Luigi task"
    )
    print(f"no-op rerun of the batch: {rerun:.2f} s with start-up ({rerun / pairs * 1000:.1f} ms per pair)")
    print(f"no-op rerun in-process (scheduling + checks only): {noop / pairs * 1000:.1f} ms per pair")
    return 0


def seed_env(root: Path) -> dict[str, str]:
    """Return the env of an already seeded root."""
    return {**os.environ, "PSET4_REMOTE_ROOT": str(root / "remote"), "PSET4_CACHE_ROOT": str(root / "cache")}


if __name__ == "__main__":
    raise SystemExit(main())
