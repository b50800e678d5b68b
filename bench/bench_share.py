"""Sharing benchmark: prints figures, asserts nothing.

    .venv/bin/python bench/bench_share.py [--notes N] [--catch-up N]

1. A note on host A shown in host B's file, loopback: host A is a dashboard-like writer (a Store
   with its Sharer), host B another home with its Sharer; the time runs from A's append being
   acknowledged (fsynced) to B's Store having written it to B's file. Also from a `warroom note`
   code path (the CLI's main in this process: connect, publish, catch up; no interpreter start).
   Target p99 <= 250 ms.
2. Ops database cost per event: publish round trips one event at a time and in batches of 500,
   and the table space an event takes.
3. Catch-up of N events (default 10,000) after a partition: B fetches and applies them all.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.pgcluster import PgCluster

from warroom.cli import main as cli_main
from warroom.sessions.model import Incident, TimelineEntry
from warroom.sessions.share import client, opsdb
from warroom.sessions.share import events as ev
from warroom.sessions.share.outbox import Outbox
from warroom.sessions.share.publish import publish_pending
from warroom.sessions.share.sharer import Sharer
from warroom.sessions.store import Store
from warroom.sessions.times import utcnow


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def show(label: str, ms: list[float]) -> None:
    print(
        f"  {label}: n={len(ms)} p50={statistics.median(ms):.1f} ms "
        f"p99={pct(ms, 99):.1f} ms max={max(ms):.1f} ms"
    )


def shared_pair(base: Path, dsn: str, title: str) -> tuple[Path, Path, str]:
    os.environ["WARROOM_HOME"] = str(base / "a")
    os.environ["WARROOM_HOST"] = "hostA"
    store = Store.create(base / "a" / "inc.toml", Incident.create(title, utcnow()))
    outbox = client.start_sharing(store, dsn, "hostA", "alice@hostA")
    assert client.try_publish(outbox, dsn, "alice@hostA").ok
    os.environ["WARROOM_HOME"] = str(base / "b")
    path_b = client.join(store.incident.id, dsn, "hostB", "bob@hostB")
    return store.path, path_b, store.incident.id


def wait_for(store: Store, ident: str, timeout: float = 10.0) -> float:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if store.incident.timeline and store.incident.timeline[-1].id == ident:
            return time.monotonic()
        if any(e.id == ident for e in store.incident.timeline[-50:]):
            return time.monotonic()
        time.sleep(0.0005)
    raise RuntimeError(f"{ident} did not arrive")


def latency(base: Path, dsn: str, notes: int) -> None:
    path_a, path_b, _ = shared_pair(base / "lat", dsn, "latency")
    store_a, store_b = Store.open(path_a), Store.open(path_b)
    sharer_a = Sharer(store_a, dsn, host="hostA", author="alice@hostA").start()
    sharer_b = Sharer(store_b, dsn, host="hostB", author="bob@hostB").start()
    time.sleep(1.0)  # let both connect and LISTEN
    dash: list[float] = []
    for i in range(notes):
        entry = TimelineEntry(at=utcnow(), text=f"note {i}", author="alice@hostA")
        store_a.append_entry(entry)
        acked = time.monotonic()
        dash.append((wait_for(store_b, entry.id) - acked) * 1000)
    cli: list[float] = []
    os.environ["WARROOM_HOME"] = str(path_a.parent)
    devnull = open(os.devnull, "w")
    real_stdout = sys.stdout
    for i in range(max(notes // 4, 10)):
        sys.stdout = devnull
        started = time.monotonic()
        try:
            cli_main(["note", "--session", str(path_a), f"cli note {i}"])
        finally:
            sys.stdout = real_stdout
        ident = store_a_last(path_a)
        cli.append((wait_for(store_b, ident) - started) * 1000)
    sharer_a.stop()
    sharer_b.stop()
    print("note on A shown in B's file (loopback):")
    show("dashboard writer, ack -> in B's file", dash)
    show("`warroom note` path, start -> in B's file", cli)


def store_a_last(path: Path) -> str:
    from warroom.sessions.store import load

    return load(path).incident.timeline[-1].id


def cost(base: Path, dsn: str, events: int) -> None:
    _, _, incident = shared_pair(base / "cost", dsn, "cost")
    made = [
        ev.make(incident, ev.ENTRY_ADDED, ev.entry_data(
            TimelineEntry(at=utcnow(), text=f"event {i} " + "x" * 60, author="alice@hostA")
        ), "hostA", "alice@hostA").to_json()
        for i in range(events * 2)
    ]  # fmt: skip
    with opsdb.connect(dsn) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_total_relation_size('warroom.events'), count(*)"
                        " FROM warroom.events")
            size0, n0 = cur.fetchone()
        started = time.perf_counter()
        for event in made[:events]:
            opsdb.publish(conn, incident, [event])
        single = (time.perf_counter() - started) / events * 1000
        started = time.perf_counter()
        for i in range(events, 2 * events, 500):
            opsdb.publish(conn, incident, made[i : i + 500])
        batched = (time.perf_counter() - started) / events * 1000
        size1, n1 = conn.execute(
            "SELECT pg_total_relation_size('warroom.events'), count(*) FROM warroom.events"
        ).fetchone()
    print(f"ops database cost per event ({events} events each way, ~180-byte note):")
    print(f"  one event per publish call: {single:.2f} ms/event (a round trip + commit each)")
    print(f"  500 events per publish call: {batched:.3f} ms/event")
    print(f"  table + indexes: {(size1 - size0) / max(n1 - n0, 1):.0f} bytes/event")


def catch_up(base: Path, dsn: str, events: int) -> None:
    path_a, path_b, _ = shared_pair(base / "catch", dsn, "catch-up")
    store_a = Store.open(path_a)
    outbox_a = Outbox.attach(store_a, "hostA", "alice@hostA")
    # B is partitioned away while A writes `events` notes in batches, as a dashboard would.
    batch = [TimelineEntry(at=utcnow(), text=f"partitioned {i}", author="alice@hostA")
             for i in range(events)]
    for i in range(0, events, 1000):
        store_a.append_entries(batch[i : i + 1000])
    with opsdb.connect(dsn) as conn:
        publish_pending(outbox_a, conn)
    store_b = Store.open(path_b)
    started = time.perf_counter()
    sharer_b = Sharer(store_b, dsn, host="hostB", author="bob@hostB", check_pooler=False).start()
    end = time.monotonic() + 120
    while len(store_b.incident.timeline) < events and time.monotonic() < end:
        time.sleep(0.005)
    took = time.perf_counter() - started
    sharer_b.stop()
    print(f"catch-up of {events} events after a partition (B's Sharer start -> all in B's file):")
    got = len(store_b.incident.timeline)
    print(f"  {took:.2f} s ({events / took:.0f} events/s), {got} entries in B's record")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=200)
    parser.add_argument("--cost-events", type=int, default=2000)
    parser.add_argument("--catch-up", type=int, default=10_000)
    args = parser.parse_args()
    cluster = PgCluster(max_connections=40).start()
    try:
        dsn = cluster.dsn()
        opsdb.init_schema(dsn)
        with tempfile.TemporaryDirectory(prefix="warroom-bench-share-") as tmp:
            base = Path(tmp)
            latency(base, dsn, args.notes)
            cost(base, dsn, args.cost_events)
            catch_up(base, dsn, args.catch_up)
    finally:
        cluster.cleanup()


if __name__ == "__main__":
    main()
