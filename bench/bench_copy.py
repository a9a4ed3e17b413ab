"""Copy throughput and peak memory: our luigi copy tasks vs `aws s3 cp`, and atomic vs plain local writes.

Targets (issue 3): local->S3->local through CopyFile within 1.2x of awscli's time against the same local
moto server (judged on the largest size; smaller rows show the fixed start-up cost, about 0.1 s a step
more than awscli for importing luigi), and flat memory: our peak RSS grows by at most 40 MiB from the
smallest to the largest size. The atomic write's extra cost (fsync + rename) is shown against a plain
write and a plain write + fsync (no target). It prints the CPU first, the figures last, and exits 1 when a
target is missed.

Both clients run as fresh processes (interpreter start-up included for both) against one moto server in
its own process, taking turns to go first, each step after an untimed `sync`; peak RSS is each process's
own, from wait4. Our downloads fsync before publishing (awscli's do not), and that time is counted. Both
tools keep up to 10 parts in flight, so their memory grows with the file up to about 10 parts (80 MiB) and
is flat after that: compare sizes above it. Other work on the machine makes the absolute figures noisy;
the ratios from one run are what counts.

    .venv/bin/python bench/bench_copy.py [--sizes-mib 96 256] [--repeat 3] [--files 200] [--file-kib 256]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

MiB = 1024 * 1024
TARGET = 1.2
MEMORY_TARGET_MIB = 40.0
BIN = Path(sys.executable).parent
ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
OUR_COPY = textwrap.dedent(
    """
    import sys, luigi
    from csci_utils.luigi.tasks import CopyFile
    ok = luigi.build([CopyFile(source=sys.argv[1], destination=sys.argv[2])], local_scheduler=True,
                     log_level="WARNING")
    sys.exit(0 if ok else 1)
    """
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_server(env: dict[str, str]) -> Iterator[str]:
    """Run moto's S3 server in its own process; yield its URL."""
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=10)


def timed_process(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run a command; return its wall seconds and its own peak RSS in MiB."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({child.returncode}): {stderr.strip()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024


def round_trip(
    tool: str, source: Path, url: str, back: Path, env: dict[str, str]
) -> tuple[float, float, float]:
    """Copy local -> S3 -> local with one tool; return upload seconds, download seconds, larger peak RSS."""
    if tool == "ours":
        steps = [
            [sys.executable, "-c", OUR_COPY, str(source), url],
            [sys.executable, "-c", OUR_COPY, url, str(back)],
        ]
    else:
        aws = [str(BIN / "aws"), "s3", "cp", "--only-show-errors"]
        steps = [[*aws, str(source), url], [*aws, url, str(back)]]
    times, peak = [], 0.0
    for step in steps:
        os.sync()  # start each step with no dirty pages left by the previous one (not timed)
        seconds, rss = timed_process(step, env)
        times.append(seconds)
        peak = max(peak, rss)
    if back.stat().st_size != source.stat().st_size:
        raise RuntimeError(f"{tool}: round trip changed the size of {source.name}")
    return times[0], times[1], peak


def make_file(path: Path, size: int) -> None:
    with path.open("wb") as f:
        for _ in range(size // MiB):
            f.write(os.urandom(MiB))
        f.write(os.urandom(size % MiB))


def bench_transfers(sizes_mib: list[int], repeat: int, work: Path) -> tuple[float, float]:
    """Print the table of round trips; return the time ratio at the largest size and the peak's growth."""
    env = {**os.environ, **ENV}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    ratio = float("inf")
    peaks: list[float] = []
    with moto_server(env) as endpoint:
        env["AWS_ENDPOINT_URL_S3"] = endpoint
        subprocess.run([str(BIN / "aws"), "s3", "mb", "s3://bench"], env=env, check=True, capture_output=True)
        print(f"local -> S3 -> local via moto at {endpoint}; one process per step, best of {repeat} per step")
        header = (
            f"{'MiB':>5}{'tool':>6}{'up s':>8}{'down s':>8}{'total s':>9}{'MiB/s':>8}{'peak RSS MiB':>14}"
        )
        print(f"{header}{'time vs aws':>13}")
        for size_mib in sizes_mib:
            source = work / f"source-{size_mib}.bin"
            make_file(source, size_mib * MiB)
            ups: dict[str, list[float]] = {"aws": [], "ours": []}
            downs: dict[str, list[float]] = {"aws": [], "ours": []}
            peak: dict[str, float] = {"aws": 0.0, "ours": 0.0}
            for attempt in range(repeat):
                order = ("aws", "ours") if attempt % 2 == 0 else ("ours", "aws")  # neither always goes first
                for tool in order:
                    back = work / f"back-{tool}-{size_mib}.bin"
                    back.unlink(missing_ok=True)
                    url = f"s3://bench/{tool}-{size_mib}-{time.monotonic_ns()}.bin"
                    up, down, rss = round_trip(tool, source, url, back, env)
                    ups[tool].append(up)
                    downs[tool].append(down)
                    peak[tool] = max(peak[tool], rss)
            total = {tool: min(ups[tool]) + min(downs[tool]) for tool in ups}
            for tool in ("aws", "ours"):
                rate, ratio = 2 * size_mib / total[tool], total[tool] / total["aws"]
                print(
                    f"{size_mib:>5}{tool:>6}{min(ups[tool]):>8.2f}{min(downs[tool]):>8.2f}{total[tool]:>9.2f}"
                    f"{rate:>8.1f}{peak[tool]:>14.0f}{ratio:>12.2f}x"
                )
            peaks.append(peak["ours"])
            ratio = (
                total["ours"] / total["aws"]
            )  # the last (largest) size decides: start-up is amortized there
            source.unlink()
    return ratio, peaks[-1] - peaks[0]


def best_time(repeat: int, job: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - start)
    return best


def bench_atomic_writes(files: int, file_kib: int, repeat: int, work: Path) -> None:
    import luigi.format

    from csci_utils.luigi.target import SuffixPreservingLocalTarget

    data = os.urandom(file_kib * 1024)
    folder = work / "writes"
    folder.mkdir()

    def plain() -> None:
        for i in range(files):
            with open(folder / f"plain-{i}.bin", "wb") as f:
                f.write(data)

    def plain_fsync() -> None:
        for i in range(files):
            with open(folder / f"fsync-{i}.bin", "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())

    def atomic() -> None:
        for i in range(files):
            target = SuffixPreservingLocalTarget(str(folder / f"atomic-{i}.tar.gz"), format=luigi.format.Nop)
            with target.open("w") as f:
                f.write(data)

    times = {name: best_time(repeat, job) for name, job in (("plain", plain), ("plain+fsync", plain_fsync))}
    times["atomic (ours)"] = best_time(repeat, atomic)
    print(f"\nwriting {files} files of {file_kib} KiB on local disk ({work}), best of {repeat}")
    print(f"{'method':<16}{'seconds':>10}{'files/s':>10}{'vs plain':>10}{'vs plain+fsync':>16}")
    for name, seconds in times.items():
        print(
            f"{name:<16}{seconds:>10.3f}{files / seconds:>10.0f}{seconds / times['plain']:>9.2f}x"
            f"{seconds / times['plain+fsync']:>15.2f}x"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mib", type=int, nargs="+", default=[96, 256], help="file sizes to copy")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", type=int, default=200, help="files for the atomic-write comparison")
    parser.add_argument("--file-kib", type=int, default=256, help="size of each of those files")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where to put the files (default: a temp dir)"
    )
    args = parser.parse_args()
    from neural_style.hardware import describe_cpu

    print(describe_cpu())
    sizes = sorted(args.sizes_mib)
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-copy-") as work:
        ratio, growth = bench_transfers(sizes, args.repeat, Path(work))
        bench_atomic_writes(args.files, args.file_kib, args.repeat, Path(work))
    time_ok, memory_ok = ratio <= TARGET, growth <= MEMORY_TARGET_MIB
    print(f"\ntime vs aws s3 cp at {sizes[-1]} MiB: {ratio:.2f}x (target <= {TARGET}x): {verdict(time_ok)}")
    print(
        f"peak RSS growth from {sizes[0]} to {sizes[-1]} MiB: {growth:+.0f} MiB "
        f"(target <= {MEMORY_TARGET_MIB:.0f} MiB): {verdict(memory_ok)}"
    )
    return 0 if time_ok and memory_ok else 1


def verdict(ok: bool) -> str:
    """Return PASS or FAIL."""
    return "PASS" if ok else "FAIL"


if __name__ == "__main__":
    raise SystemExit(main())
