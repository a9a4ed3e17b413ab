"""The central scheduler at scale: a real luigid's memory and scheduling time per task as pending tasks grow.

Starts ``luigid`` on 127.0.0.1 (private state file, no config), registers N pending tasks with no real work
the way a worker does (one ``add_task`` per task, each Stylize-like task depending on a download-like one),
and at each size measures luigid's resident memory and the time of ``get_work`` (what every worker asks
before each task: luigid sorts every pending task on each call) and of marking a task done. The figures are
extrapolated to a million pairs (40,000 photos x 26 styles) laid out one task per pair or grouped one task
per photo (26 styles each), in one build or in waves (``pset_4.waves``) on 16 machines.

    .venv/bin/python bench/bench_scheduler.py [--counts 1000,10000,50000] [--probes 20]

Targets (exit 1 when missed): a million pairs in waves (one task per pair, as built), extrapolated: luigid's
pending tasks <= 4 GiB and ``get_work`` <= 50 ms per task. (DONE tasks also stay in memory for
``[scheduler] remove_delay``; see docs/scaling.md.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import luigi.rpc
import psutil
from luigid_server import start_luigid

MILLION_PHOTOS = 40_000
MILLION_STYLES = 26
MEMORY_TARGET_GIB = 4.0
GET_WORK_TARGET_MS = 50.0
WORKER = "bench-worker"
WAVE_PAIRS = 104  # pset_4.waves.WAVE_PAIRS (not imported: this bench needs only luigi)
MACHINES = 16


def add_pending(scheduler: luigi.rpc.RemoteScheduler, start: int, stop: int) -> float:
    """Register tasks ``start..stop`` (half downloads, half stylizes needing one); return seconds per task."""
    began = time.perf_counter()
    for i in range(start, stop):
        if i % 2 == 0:
            scheduler.add_task(worker=WORKER, task_id=f"Download_{i}", status="PENDING", family="Download")
        else:
            deps = [f"Download_{i - 1}"]
            scheduler.add_task(
                worker=WORKER, task_id=f"Stylize_{i}", status="PENDING", family="Stylize", deps=deps
            )
    return (time.perf_counter() - began) / max(1, stop - start)


def probe_get_work(scheduler: luigi.rpc.RemoteScheduler, probes: int) -> tuple[float, float]:
    """Run ``probes`` get_work + done cycles; return (get_work seconds, done seconds) per task."""
    get_work = done = 0.0
    for _ in range(probes):
        began = time.perf_counter()
        reply = scheduler.get_work(worker=WORKER, host="bench", current_tasks=[])
        middle = time.perf_counter()
        task_id = reply.get("task_id")
        if task_id is None:
            sys.exit("luigid handed out no work although tasks are pending")
        scheduler.add_task(worker=WORKER, task_id=task_id, status="DONE")
        get_work += middle - began
        done += time.perf_counter() - middle
    return get_work / probes, done / probes


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares line through (x, y) points; return (intercept, slope)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points) or 1.0
    slope = sum((x - mx) * (y - my) for x, y in points) / var
    return my - slope * mx, slope


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000,10000,50000", help="pending task counts, rising")
    parser.add_argument("--probes", type=int, default=20, help="get_work calls timed at each count")
    args = parser.parse_args(argv)
    counts = sorted(int(c) for c in args.counts.split(",") if c)

    from neural_style.hardware import describe_cpu

    rows: list[tuple[int, float, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-scheduler-") as tmp:
        server, port = start_luigid(Path(tmp))
        try:
            luigid = psutil.Process(server.pid)
            scheduler = luigi.rpc.RemoteScheduler(f"http://127.0.0.1:{port}")
            scheduler.add_worker(WORKER, {"workers": 1})
            baseline = luigid.memory_info().rss
            added = 0
            for count in counts:
                add_s = add_pending(scheduler, added, count)
                added = count
                rss = luigid.memory_info().rss
                get_work_s, done_s = probe_get_work(scheduler, args.probes)
                rows.append((count, (rss - baseline) / count, add_s, get_work_s, done_s))
        finally:
            server.terminate()
            server.wait(timeout=10)

    mem_fit = fit([(c, per * c) for c, per, *_ in rows])
    work_fit = fit([(c, g) for c, _, _, g, _ in rows])
    add_ms = sum(r[2] for r in rows) / len(rows) * 1000
    done_ms = sum(r[4] for r in rows) / len(rows) * 1000

    def at(pending: int, total: int) -> tuple[float, float, float]:
        """Extrapolate (peak GiB, peak get_work ms, hours of scheduling for ``total`` tasks)."""
        gib = (baseline + mem_fit[0] + mem_fit[1] * pending) / 2**30
        ms = max(0.0, work_fit[0] + work_fit[1] * pending) * 1000
        # The pending set drains as tasks finish: on average get_work costs about half its peak.
        hours = total * (ms / 2 + add_ms + done_ms) / 1000 / 3600
        return gib, ms, hours

    pairs = MILLION_PHOTOS * MILLION_STYLES
    per_pair = 2 * pairs + MILLION_PHOTOS + 1  # Stylize + publish per pair, a download per photo, the model
    grouped = 3 * MILLION_PHOTOS + 1  # per photo x model: download, stylize all styles, publish all
    wave_photos = max(1, WAVE_PAIRS // MILLION_STYLES)
    layouts = {
        "one build, 1 task per pair": (per_pair, per_pair),
        "one build, grouped per photo x model": (grouped, grouped),
        f"waves of {WAVE_PAIRS} pairs on {MACHINES} machines, 1 task per pair": (
            MACHINES * (2 * WAVE_PAIRS + wave_photos + 1),
            per_pair,
        ),
        f"waves of {WAVE_PAIRS} pairs on {MACHINES} machines, grouped": (
            MACHINES * (3 * wave_photos + 1),
            grouped,
        ),
    }
    print(describe_cpu())
    print(f"luigid on 127.0.0.1, pending tasks with no work; baseline RSS {baseline / 2**20:.0f} MiB")
    print(f"{'pending':>8} {'RSS B/task':>11} {'add_task ms':>12} {'get_work ms':>12} {'done ms':>8}")
    for count, per, add_s, get_work_s, done_s in rows:
        print(f"{count:8d} {per:11.0f} {add_s * 1000:12.2f} {get_work_s * 1000:12.2f} {done_s * 1000:8.2f}")
    print(f"fit: get_work = {work_fit[0] * 1000:.2f} ms + {work_fit[1] * 1e6:.3f} us per pending task")
    print(f"a million pairs ({MILLION_PHOTOS} photos x {MILLION_STYLES} styles), extrapolated:")
    print(f"  {'layout':62} {'pending':>8} {'tasks':>8} {'GiB':>5} {'get_work ms':>11} {'sched h':>8}")
    ok = True
    for label, (pending, total) in layouts.items():
        gib, ms, hours = at(pending, total)
        print(f"  {label:62} {pending:8d} {total:8d} {gib:5.1f} {ms:11.1f} {hours:8.1f}")
        if label.startswith("waves") and label.endswith("1 task per pair"):
            ok = gib <= MEMORY_TARGET_GIB and ms <= GET_WORK_TARGET_MS
    print(
        f"target (waves, 1 task per pair, as built in pset_4.waves): <= {MEMORY_TARGET_GIB} GiB of pending "
        f"tasks and get_work <= {GET_WORK_TARGET_MS} ms: {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
