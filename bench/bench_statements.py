"""Reading pg_stat_statements at 5,000 statements: what one snapshot costs warroom and the server.

Prints figures, asserts nothing. Run from the repo root (as root or the server's owner):

    .venv/bin/python bench/bench_statements.py [--statements 5000] [--rounds 30]

A snapshot is ``numbers_sql`` (queryid, total time, calls; texts not read) on the monitor's
connection plus parsing it and the delta/top-5 over the window; texts are read only for new
top statements (timed separately). warroom takes one snapshot every 5 s.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_collector import backend_cpu_s
from support.pgcluster import MONITOR_ROLE, PgCluster

from warroom.collectors import statements

# Nested float functions: every combination is a different statement to pg_stat_statements.
FUNCS = ("abs", "ceil", "floor", "round", "sign", "trunc", "degrees", "radians", "cbrt",
         "sin", "cos", "atan")  # fmt: skip


def distinct_statements(n: int) -> list[str]:
    out = []
    for combo in itertools.product(FUNCS, repeat=4):
        expr = "0.5::float8"
        for f in combo:
            expr = f"{f}({expr})"
        out.append(f"SELECT {expr}")
        if len(out) == n:
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--statements", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    cluster = PgCluster(max_connections=20, extra_conf={
        "shared_preload_libraries": "pg_stat_statements",
        "pg_stat_statements.max": max(args.statements + 500, 5000),
    })  # fmt: skip
    try:
        cluster.start()
        with cluster.connect() as admin:
            admin.execute("CREATE EXTENSION pg_stat_statements")
            for sql in distinct_statements(args.statements):
                admin.execute(sql)  # type: ignore[arg-type]
            count = admin.execute("SELECT count(*) FROM pg_stat_statements").fetchone()[0]
        with cluster.connect(user=MONITOR_ROLE) as mon:
            version = mon.info.server_version
            pid = mon.info.backend_pid
            # As text, the way warroom reads it over libpq (psycopg would parse the JSON).
            numbers = f"SELECT ({statements.numbers_sql(version, 'public')})::text"
            window = statements.StatementWindow()
            wall, srv, client, sizes = [], [], [], []
            for i in range(args.rounds):
                s0 = backend_cpu_s(pid)
                t0 = time.perf_counter()
                text = mon.execute(numbers).fetchone()[0]  # type: ignore[arg-type]
                t1 = time.perf_counter()
                window.add(float(i * 5), statements.parse_numbers(text))
                window.top()
                t2 = time.perf_counter()
                wall.append((t2 - t0) * 1000)
                client.append((t2 - t1) * 1000)
                srv.append((backend_cpu_s(pid) - s0) * 1000)
                sizes.append(len(str(text)))
            ids = [q for q, *_ in window.deltas()] or [0]
            texts_sql = statements.texts_sql("public")
            t0 = time.perf_counter()
            arr = "{" + ",".join(str(q) for q in ids) + "}"
            mon.execute(texts_sql.replace("$1", "%s"), (arr,))  # type: ignore[arg-type]
            texts_ms = (time.perf_counter() - t0) * 1000
        print(f"PostgreSQL {version}, {count} rows in pg_stat_statements, {args.rounds} snapshots")
        print(f"snapshot wall p50 {statistics.median(wall):.2f} ms, p95 "
              f"{statistics.quantiles(wall, n=20)[-1]:.2f} ms; server backend CPU "
              f"{statistics.fmean(srv):.2f} ms per snapshot (10 ms ticks, averaged); client "
              f"parse+delta {statistics.median(client):.2f} ms; answer {sizes[-1] / 1024:.0f} KiB")
        print(f"texts for the top {len(ids)}: {texts_ms:.2f} ms (only when a new one makes "
              "the top)")
        print(f"at one snapshot per 5 s: {statistics.median(wall) / 5:.2f} ms per second "
              "of watching")
    finally:
        cluster.cleanup()


if __name__ == "__main__":
    main()
