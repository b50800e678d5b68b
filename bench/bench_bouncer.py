"""PgBouncer collector cost: the first sample (connecting) and samples on the held connection.

Run: .venv/bin/python bench/bench_bouncer.py   (prints figures; asserts nothing)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.pgbouncer import PgBouncer
from support.pgcluster import PgCluster

from warroom.collectors.pgbouncer import PgBouncerCollector

ROUNDS = 200


def main() -> None:
    with PgCluster(max_connections=20) as pg, PgBouncer(pg) as bouncer:
        collector = PgBouncerCollector(bouncer.admin_dsn())
        started = time.perf_counter()
        collector.sample()
        first_ms = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            sample = collector.sample()
            times.append((time.perf_counter() - started) * 1000)
            if not sample.up:
                print(f"sample failed: {sample.error}")
        collector.close()
    times.sort()
    print(
        f"pgbouncer sample: first (with connect) {first_ms:.2f} ms; held connection "
        f"p50 {statistics.median(times):.3f} ms, p95 {times[int(ROUNDS * 0.95) - 1]:.3f} ms "
        f"over {ROUNDS}"
    )


if __name__ == "__main__":
    main()
