"""Scale-out: the same batch on 1 and on 2 "machines" at once, sharing only the remote folder and one luigid.

Each machine is a ``python -m pset_4`` process with its own cache, working folder and HOME and
``PSET4_ENGINE_THREADS=1`` (so two share this box's cores fairly), pointed at one real ``luigid`` on
127.0.0.1. Printed: wall time and throughput for 1 and 2 machines, how many pairs each machine stylized
(each pair must be stylized exactly once in all), and the per-pair overhead over the engine alone (one
thread, models loaded once, same pairs).

    .venv/bin/python bench/bench_scale_out.py [--photos 40] [--styles 4] [--size 256] [--machines 1,2]
    .venv/bin/python bench/bench_scale_out.py --shared-cache   # one cache for all (before the issue-9 fix)

Targets (exit 1 when missed): every run exits 0 with each pair stylized exactly once; 2 machines give at
least 1.5x the throughput of 1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from bench_workflow import write_photos
from luigid_server import start_luigid

PYTHON = sys.executable
SPEED_UP_TARGET = 1.5
STYLIZED = re.compile(r"stylized (.+?) in \d")


def empty_config(folder: Path) -> Path:
    """Write an empty luigi.cfg in ``folder`` (so no project or user configuration leaks in); return it."""
    path = folder / "luigi.cfg"
    path.write_text("")
    return path


def machine_env(home: Path, remote: Path, cache: Path) -> dict[str, str]:
    """The environment of one machine: its own HOME and cache, the shared remote, one engine thread."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSET4_")}
    env.update(
        HOME=str(home),
        PSET4_REMOTE_ROOT=str(remote),
        PSET4_CACHE_ROOT=str(cache),
        PSET4_ENGINE_THREADS="1",
        LUIGI_CONFIG_PATH=str(empty_config(home)),
    )
    return env


def run_machines(
    work: Path, remote: Path, argv: list[str], machines: int, *, shared_cache: bool
) -> tuple[float, list[int], Counter[str]]:
    """Start ``machines`` processes at once; return wall seconds, pairs per machine, runs per pair."""
    luigid, port = start_luigid(work / "luigid")
    try:
        procs = []
        for number in range(machines):
            home = work / f"machine{number}"
            home.mkdir(parents=True)
            cache = work / "shared-cache" if shared_cache else home / "cache"
            command = [*argv, "--scheduler-host", "127.0.0.1", "--scheduler-port", str(port)]
            procs.append(
                subprocess.Popen(
                    command,
                    cwd=home,
                    env=machine_env(home, remote, cache),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        started = time.perf_counter()
        results = [proc.communicate(timeout=3600) for proc in procs]
        wall = time.perf_counter() - started
    finally:
        luigid.terminate()
        luigid.wait(timeout=10)
    runs: Counter[str] = Counter()
    per_machine = []
    for proc, (_, err) in zip(procs, results, strict=True):
        if proc.returncode != 0:
            print(f"a machine exited {proc.returncode}:\n{err[-3000:]}", file=sys.stderr)
        found = STYLIZED.findall(err)
        per_machine.append(len(found))
        runs.update(found)
    return wall, per_machine, runs


def engine_floor(photos: Path, names: list[str], model: Path, styles: list[str]) -> float:
    """Seconds per pair for the engine alone, one thread, model loaded once."""
    from neural_style.image import load_image
    from neural_style.loading import load_model

    stylizer = load_model(model, threads=1)
    started = time.perf_counter()
    for name in names:
        image = load_image(photos / name)
        for style in styles:
            stylizer.with_style(int(style)).stylize(image)
    return (time.perf_counter() - started) / (len(names) * len(styles))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--styles", type=int, default=4, help="styles of the 26-style model (<= 26)")
    parser.add_argument("--size", type=int, default=256, help="photo width in pixels (height is 3/4)")
    parser.add_argument("--machines", default="1,2", help="machine counts to run, e.g. 1,2")
    parser.add_argument("--shared-cache", action="store_true", help="one cache folder for every machine")
    args = parser.parse_args(argv)

    from neural_style.hardware import describe_cpu
    from neural_style.loading import multistyle_model_path

    model = multistyle_model_path()
    styles = [str(s) for s in np.linspace(0, 25, args.styles).astype(int)]
    counts = [int(c) for c in args.machines.split(",") if c]
    pairs = args.photos * len(styles)
    rows = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-scale-out-") as tmp:
        work = Path(tmp)
        names = write_photos(work / "photos", args.photos, args.size)
        floor = engine_floor(work / "photos", names, model, styles)
        command = [PYTHON, "-m", "pset_4", "-m", model.name, "--workers", "1", "--no-contact-sheet"]
        for name in names:
            command += ["-i", name]
        for style in styles:
            command += ["--style", style]
        for machines in counts:
            run = work / f"run-{machines}"
            remote = run / "remote"
            shutil.copytree(work / "photos", remote / "images")
            (remote / "saved_models").mkdir(parents=True)
            shutil.copyfile(model, remote / "saved_models" / model.name)
            wall, per_machine, runs = run_machines(
                run, remote, command, machines, shared_cache=args.shared_cache
            )
            once = len(runs) == pairs and set(runs.values()) == {1}
            ok = ok and once
            rows[machines] = (wall, per_machine, once)

    print(describe_cpu())
    cache = "one shared cache" if args.shared_cache else "a cache each"
    print(
        f"scale-out bench: {args.photos} photos x {len(styles)} styles = {pairs} pairs at {args.size} px, "
        f"one luigid, {cache}, PSET4_ENGINE_THREADS=1; engine alone: {floor * 1000:.1f} ms per pair"
    )
    header = f"{'machines':>8} {'seconds':>8} {'pairs/s':>8} {'overhead ms/pair':>17} {'per machine':>12}"
    print(f"{header} once")
    for machines, (wall, per_machine, once) in rows.items():
        overhead = (wall * machines / pairs - floor) * 1000
        split = "/".join(str(n) for n in per_machine)
        once_text = "yes" if once else "NO"
        print(f"{machines:8d} {wall:8.2f} {pairs / wall:8.2f} {overhead:17.1f} {split:>12} {once_text}")
    if 1 in rows and 2 in rows:
        speed_up = rows[1][0] / rows[2][0]
        print(f"2 machines vs 1: {speed_up:.2f}x the throughput (target >= {SPEED_UP_TARGET}x)")
        ok = ok and speed_up >= SPEED_UP_TARGET
    print(f"targets: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
