"""How long a sample takes when the server cannot answer, against its budget; and how close the
measured round trip is to a known network delay. The tests only check that these return (and
what they return); the figures live here.

Run: .venv/bin/python bench/bench_sample_budget.py   (prints figures; asserts nothing)
"""

from __future__ import annotations

import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.pgcluster import MONITOR_ROLE, PgCluster
from support.proxy import TcpProxy

from warroom.collectors.postgres import PostgresCollector


def timed(col: PostgresCollector) -> float:
    t0 = time.monotonic()
    col.sample()
    return time.monotonic() - t0


def until_up(col: PostgresCollector) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not col.sample().up:
        time.sleep(0.1)


def main() -> None:
    cluster = PgCluster(max_connections=20).start()
    try:
        col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE), interval=1.0, probe_every=0)
        until_up(col)
        pid = col.backend_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        try:
            stalled = timed(col)
        finally:
            os.kill(pid, signal.SIGCONT)
        print(f"SIGSTOPped backend: sample returned in {stalled:.3f} s (budget {col.budget} s)")
        col.close()

        with TcpProxy(cluster.port) as proxy:
            col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE, port=proxy.port),
                                    probe_every=0, backoff_base=0.05, backoff_max=0.5)
            until_up(col)
            proxy.stall()
            times = [timed(col) for _ in range(4)]
            print("stalled network path: samples returned in "
                  + ", ".join(f"{t:.3f}" for t in times) + f" s (budget {col.budget} s)")
            col.close()

        one_way = 0.05
        with TcpProxy(cluster.port, delay=one_way) as proxy:
            col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE, port=proxy.port),
                                    interval=2.0, probe_every=0)
            until_up(col)
            samples = [col.sample() for _ in range(7)]
            col.close()
        median = statistics.median(s.query_ms or 0.0 for s in samples)
        expected = 2 * one_way * 1000
        print(f"round trip through a {expected:.0f} ms delay: median {median:.1f} ms "
              f"({(median - expected) / expected * 100:+.1f} %)")
    finally:
        cluster.cleanup()


if __name__ == "__main__":
    main()
