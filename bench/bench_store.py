"""Session store benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/bench_store.py [--appends N] [--rounds N] [--commands N]

Note append latency (p50/p99, fsync included) on a fresh session and on one already holding
2,000 entries and 8 h of 10-second rollups (2,880, schema 2 with every figure the panes use);
the load time of that big session for a writer that leaves the rollups undecoded (note's,
status's and replay's path, ``Store.open(lazy=True)``) and for full loads (``Store.open``,
``load``: the TUI, check, the draft); load_header time; rewrite time; and the end-to-end time of the
`warroom note` and `warroom status` commands on it (subprocesses, interpreter start-up included).
Targets (issues 2 and 8): append p99 <= 10 ms and flat with length; a writer's load <= 300 ms.
Files go to a temp dir under /tmp (same filesystem as the sessions directory on these machines).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warroom.sessions.model import Incident, Kind, SampleRollup, Source, Target, TimelineEntry
from warroom.sessions.store import Store, load, load_header

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def new_incident() -> Incident:
    return Incident.create(
        "orders DB refusing connections",
        T0,
        severity="SEV1",
        target=Target(dsn="host=db1 dbname=orders user=app"),
    )


def build_big(path: Path) -> Store:
    """2,000 entries and 2,880 rollups, appended the way a long incident would."""
    store = Store.create(path, new_incident())
    kinds = list(Kind)
    rollups = [
        SampleRollup(
            at=T0 + timedelta(seconds=10 * i),
            samples=10,
            conn_min=80 + i % 7,
            conn_mean=88.5,
            conn_max=97,
            max_connections=100,
            query_p50_ms=1.25,
            query_p95_ms=12.5,
            query_max_ms=48.0,
            connect_max_ms=7.5,
            # schema 2: everything the panes need to redraw the window
            conn_last=90,
            usable=97,
            waiting=3,
            by_state=(("idle in transaction", 70), ("active", 12), ("idle", 8)),
            top_apps=(("shop-api", 70), ("billing", 8), ("reports", 5), ("psql", 2), ("cron", 1)),
            query_p99_ms=30.0,
            connect_ms=4.5,
            refused_by=(("too_many_connections", 2),),
            refused=2,
            tps=310.5,
            host_cpu=42.0,
            host_mem=61.5,
            host_swap=0.0,
            host_load=3.12,
            host_tcp=(("ESTABLISHED", 96), ("TIME_WAIT", 12)),
            bouncer_waiting=14,
            bouncer_maxwait_s=2.5,
            bouncer_pools=(("orders/shop", 60, 14, 40, 0, 2.5),
                           ("orders/billing", 8, 0, 4, 2, 0.0)),
        )
        for i in range(2880)
    ]
    for i in range(0, 2880, 60):  # as the TUI would flush them, a few at a time
        store.append_samples(rollups[i : i + 60])
    for i in range(2000):
        kind = kinds[i % len(kinds)]
        if kind is Kind.DETECTION and store.incident.detected_at is not None:
            kind = Kind.NOTE
        store.append_entry(
            TimelineEntry(
                at=T0 + timedelta(seconds=14 * i),
                text=f"entry {i}: connections at {80 + i % 20}%, pgbouncer cl_waiting {i % 50}",
                kind=kind,
                author="ana",
                source=Source.MANUAL,
            )
        )
    return store


def append_latencies(store: Store, count: int) -> list[float]:
    out = []
    for i in range(count):
        entry = TimelineEntry(at=datetime.now(UTC), text=f"bench note {i}", author="bench")
        start = time.perf_counter()
        store.append_entry(entry)
        out.append(time.perf_counter() - start)
    return out


def timed(call: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def command_times(home: Path, args: list[str], rounds: int) -> list[float]:
    """Wall time of ``warroom ARGS`` run as a user's shell runs it, ``rounds`` times."""
    env = dict(os.environ, WARROOM_HOME=str(home), WARROOM_AUTHOR="bench")
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "warroom", *args], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        out.append(time.perf_counter() - start)
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def median_max(times: list[float]) -> str:
    return f"median {ms(statistics.median(times))}  max {ms(max(times))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=500, help="appends per measurement")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of open/load timing")
    parser.add_argument("--commands", type=int, default=7, help="runs of each CLI command")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="warroom-bench-", dir="/tmp") as tmp:
        fresh = Store.create(Path(tmp) / "fresh.toml", new_incident())
        fresh_lat = append_latencies(fresh, args.appends)

        started = time.perf_counter()
        big = build_big(Path(tmp) / "big.toml")
        built = time.perf_counter() - started
        size = big.path.stat().st_size
        big_lat = append_latencies(big, args.appends)

        writer_times = timed(lambda: Store.open(big.path, lazy=True), args.rounds)
        open_times = timed(lambda: Store.open(big.path), args.rounds)
        load_times = timed(lambda: load(big.path), args.rounds)
        header_times = timed(lambda: load_header(big.path), args.rounds * 10)
        refresh_times = timed(big.refresh, 1000)
        update_times = timed(lambda: big.update(lambda inc: inc.set_severity("SEV2")), 5)
        writer = Store.open(big.path, lazy=True)
        writer_update_times = timed(lambda: writer.update(lambda inc: inc.set_severity("SEV1")), 5)

        home = Path(tmp)
        version_times = command_times(home, ["--version"], args.commands)
        note_cmd = ["note", "--session", str(big.path), "bench: pool at 100%"]
        note_times = command_times(home, note_cmd, args.commands)
        status_cmd = ["status", "--session", str(big.path), "identified"]
        status_times = command_times(home, status_cmd, args.commands)

    print(
        f"big session: 2,000+ entries, 2,880 rollups, {size / 1024:.0f} KiB, built in {built:.1f} s"
    )
    print(
        f"note append, fresh session   p50 {ms(percentile(fresh_lat, 50))}  "
        f"p99 {ms(percentile(fresh_lat, 99))}  max {ms(max(fresh_lat))}  (n={len(fresh_lat)})"
    )
    print(
        f"note append, big session     p50 {ms(percentile(big_lat, 50))}  "
        f"p99 {ms(percentile(big_lat, 99))}  max {ms(max(big_lat))}  (n={len(big_lat)})"
    )
    print(f"writer load, big session     {median_max(writer_times)}  (note's path: lazy)")
    print(f"Store.open, big session      {median_max(open_times)}  (full: the TUI)")
    print(f"load, big session            {median_max(load_times)}  (full: check, the draft; "
          "replay loads lazily)")
    print(f"load_header, big session     median {ms(statistics.median(header_times))}")
    print(f"refresh, nothing changed     median {ms(statistics.median(refresh_times))}")
    print(f"update (rewrite), big        median {ms(statistics.median(update_times))}  (full)")
    print(f"update (rewrite), writer     median {ms(statistics.median(writer_update_times))}"
          "  (lazy: rollups copied as read)")
    print(f"`warroom note`, big session  {median_max(note_times)}  (n={len(note_times)})")
    print(f"`warroom status`, big        {median_max(status_times)}  (n={len(status_times)})")
    print(f"`warroom --version`          {median_max(version_times)}  (start-up alone)")
    print("targets: append p99 <= 10 ms and flat with length; writer load <= 300 ms")


if __name__ == "__main__":
    main()
