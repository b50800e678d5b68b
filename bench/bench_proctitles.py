"""Counting backends from process titles at 1,000 backends (what a full server costs warroom).

Prints figures, asserts nothing: .venv/bin/python bench/bench_proctitles.py [--backends 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import psycopg
from bench_collector import open_idle
from support.pgcluster import PgCluster

from warroom.collectors import proctitles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    cluster = PgCluster(max_connections=args.backends + 20, extra_conf={"autovacuum": "off"})
    held: list[psycopg.Connection] = []
    try:
        cluster.start()
        open_idle(cluster, args.backends, held)
        t0 = time.perf_counter()
        pm = proctitles.find_postmaster(cluster.port)
        find_ms = (time.perf_counter() - t0) * 1000
        assert pm is not None
        times, found = [], 0
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            backends = proctitles.backends(pm)
            conns = proctitles.count(backends, max_connections=0, reserved=0, top=5)
            times.append((time.perf_counter() - t0) * 1000)
            found = conns.total
        print(f"{args.backends} idle backends held; counted {found} from process titles")
        print(f"find the postmaster by port (once): {find_ms:.1f} ms")
        print(f"scan + count: p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
              f"per sample (inside the 0.8 s sample budget)")
    finally:
        for conn in held:
            conn.close()
        cluster.cleanup()


if __name__ == "__main__":
    main()
