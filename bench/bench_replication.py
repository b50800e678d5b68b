"""What reading replication costs each sample, on a primary (a streaming standby, some slots)
and on its replica, with few and with many client backends.

Prints figures, asserts nothing. Run as root (or the server's owner) from the repo root:

    .venv/bin/python bench/bench_replication.py [--rounds 300] [--backends 0,500] [--slots 5]
        [--bin /usr/lib/postgresql/15/bin]

For each statement, as the monitoring role (pg_monitor) on one connection, prepared the way
warroom runs it: the client round trip (wall, mean and p95), the CPU of that connection's
backend (utime+stime from /proc, so parse, plan, execute and protocol all count), and the
executor's own time from EXPLAIN (ANALYZE) of the same statement (instrumented: on 15 it reads
higher than the whole round trip for the status functions; the round trip and the backend CPU
are what warroom pays). ``SELECT 1`` is the floor
(protocol and a trivial plan); warroom's sample aggregate is there for scale; the bare views
show which part costs what. The pg_stat_replication view joins every backend's status entry,
which warroom avoids, hence the runs with many idle backends.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_collector import backend_cpu_s, open_idle
from support.pgcluster import MONITOR_ROLE, PgCluster
from support.replica import REPLICATION_HBA, replica_of, replication_conf

from warroom.collectors import pg_queries, replication

EXEC_TIME = re.compile(r"Execution Time: ([0-9.]+) ms")


def statements(version: int) -> dict[str, str]:
    return {
        "SELECT 1 (floor)": "SELECT 1",
        "replication (warroom)": f"SELECT ({replication.replication_sql(version)})::text",
        # the view warroom does not read whole (see replication.py): what that saves
        "  pg_stat_replication view": "SELECT * FROM pg_stat_replication",
        "  pg_replication_slots": "SELECT * FROM pg_replication_slots",
        "  pg_stat_wal_receiver": "SELECT * FROM pg_stat_wal_receiver",
        # $1 top names, $2 the previous sample's clock (NULL: the first sample)
        "sample aggregate (scale)": pg_queries.sample_sql(version).replace(
            "$1", "5").replace("$2::float8", "NULL::float8"),
    }  # fmt: skip


def measure(conn: psycopg.Connection, sql: str, rounds: int) -> tuple[float, float, float, float]:
    """Mean and p95 round trip (ms), backend CPU per run (ms), executor time (ms)."""
    pid = conn.info.backend_pid
    for _ in range(10):  # warm: plan cached, catalogs in the backend's caches
        conn.execute(sql, prepare=True)  # type: ignore[arg-type]
    walls = []
    cpu0 = backend_cpu_s(pid)
    for _ in range(rounds):
        t0 = time.perf_counter()
        conn.execute(sql, prepare=True).fetchall()  # type: ignore[arg-type]
        walls.append((time.perf_counter() - t0) * 1000)
    cpu = (backend_cpu_s(pid) - cpu0) * 1000 / rounds
    execs = []
    for _ in range(max(rounds // 5, 10)):
        plan = conn.execute(f"EXPLAIN (ANALYZE) {sql}").fetchall()  # type: ignore[arg-type]
        found = EXEC_TIME.search("\n".join(str(r[0]) for r in plan))
        if found:
            execs.append(float(found.group(1)))
    p95 = statistics.quantiles(walls, n=20)[-1]
    return statistics.fmean(walls), p95, cpu, statistics.fmean(execs) if execs else float("nan")


def report(label: str, cluster: PgCluster, rounds: int) -> None:
    with cluster.connect(user=MONITOR_ROLE) as conn:
        version = conn.info.server_version
        role = "replica" if conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] else (
            "primary")  # fmt: skip
        print(f"\n{label}: PostgreSQL {version // 10000}, {role}")
        print(f"  {'statement':28} {'rtt mean':>9} {'rtt p95':>9} {'backend cpu':>12} "
              f"{'executor':>9}   (ms, {rounds} runs)")  # fmt: skip
        for name, sql in statements(version).items():
            mean, p95, cpu, ex = measure(conn, sql, rounds)
            print(f"  {name:28} {mean:9.3f} {p95:9.3f} {cpu:12.3f} {ex:9.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--backends", default="0,500", help="idle client backends, per run")
    ap.add_argument("--slots", type=int, default=5, help="inactive physical slots on the primary")
    ap.add_argument("--bin", type=Path, default=None, help="PostgreSQL bin directory")
    args = ap.parse_args()
    levels = [int(x) for x in args.backends.split(",")]
    primary = PgCluster(
        max_connections=max(levels) + 50, bin_dir=args.bin,
        extra_conf=replication_conf(max_replication_slots=args.slots + 5),
        hba=REPLICATION_HBA,
    )  # fmt: skip
    try:
        primary.start()
        with primary.connect() as admin:
            for i in range(args.slots):
                admin.execute(f"SELECT pg_create_physical_replication_slot('bench_{i}', true)")
        with replica_of(primary) as replica:
            primary.wait_for(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", 1, 30
            )
            held: list[psycopg.Connection] = []
            try:
                for n in levels:
                    if n > len(held):
                        open_idle(primary, n - len(held), held)
                    report(f"{n} idle backends", primary, args.rounds)
                report("its replica", replica, args.rounds)
            finally:
                for conn in held:
                    conn.close()
    finally:
        primary.cleanup()


if __name__ == "__main__":
    main()
