"""The recorder's store in an ops PostgreSQL (`--store DSN`) against the SQLite file.

Run: .venv/bin/python bench/bench_pgstore.py [--quick]   (prints figures; asserts nothing)

bench_recorder.py's synthetic load (half the backends changing each second, frames dated one
second apart from an injected clock) written to a throwaway ops cluster and to a SQLite file:
bytes per hour (the day partitions' pg_total_relation_size; SQLite's pages in use), the
append's CPU in this process (% of a core at 1 s) and its wall time per frame (a round trip
to the ops database on this host), then state_at at random moments (p50 / p95).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_recorder import T0, Workload, figures
from support.pgcluster import PgCluster

from warroom.collectors.backends import parse_list
from warroom.recording.frame import Frame, Rows
from warroom.recording.pgstore import PgFrameStore
from warroom.recording.retention import Retention
from warroom.recording.store import FrameStore
from warroom.recording.store_api import FrameSink


def run(store: FrameSink, n: int, seconds: int) -> tuple[float, float, float, float]:
    """(CPU % of a core, wall ms per append, seek p50 ms, seek p95 ms)."""
    work, rng, cache = Workload(n), random.Random(1), Rows()
    cpu = wall = 0.0
    for s in range(seconds):
        now = T0.timestamp() + s
        rows = cache.of(parse_list(work.second(now)), now)
        frame = Frame("db1", datetime.fromtimestamp(now, UTC), "up", figures(now, n, rng), rows)
        began_cpu, began = time.process_time(), time.perf_counter()
        store.append(frame)
        cpu += time.process_time() - began_cpu
        wall += time.perf_counter() - began
    times = []
    for _ in range(200):
        at = T0 + timedelta(seconds=rng.uniform(0, seconds))
        began = time.perf_counter()
        store.state_at("db1", at)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return (cpu / seconds * 100, wall / seconds * 1000, statistics.median(times),
            times[int(len(times) * 0.95)])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="120 frames per size (else 600)")
    args = parser.parse_args()
    seconds = 120 if args.quick else 600
    clock = lambda: T0.timestamp() + seconds  # noqa: E731
    keep = Retention(float("inf"), 2**62)
    print(f"store append at 1 s, half the backends changing each second ({seconds} frames):")
    with PgCluster() as pg, tempfile.TemporaryDirectory() as tmp:
        for n in (50, 500, 1000):
            for kind in ("sqlite", "postgres"):
                if kind == "postgres":
                    with pg.connect() as conn:  # each size on an empty store
                        conn.execute("DROP SCHEMA IF EXISTS warroom CASCADE")
                    store: FrameSink = PgFrameStore(pg.dsn(), clock=clock, retention=keep)
                else:
                    store = FrameStore(Path(tmp) / f"{n}.sqlite", clock=clock, retention=keep)
                with store:
                    cpu, wall, p50, p95 = run(store, n, seconds)
                    mb = store.used_bytes() / seconds * 3600 / 1e6
                print(f"  {n:>5} backends {kind:<8}: {mb:6.1f} MB/hour  append CPU {cpu:5.2f} %"
                      f" of a core, {wall:5.2f} ms/frame  seek p50 {p50:5.1f} ms"
                      f"  p95 {p95:5.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
