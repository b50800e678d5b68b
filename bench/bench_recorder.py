"""The flight recorder's costs: store bytes per hour, CPU, seek over 48 h, lead-up attach time.

Run: .venv/bin/python bench/bench_recorder.py [--quick] [--no-real]   (prints figures; asserts
nothing)

1. Synthetic load at 1 s, 50 / 500 / 1000 backends, half of them changing state each second
   (new query text with new literals, new query start, state among active / idle / idle in
   transaction). Each second's list is the server's JSON as the backends query returns it, then
   the recorder's own path: parse_list, frame.Rows, FrameStore.append (and retention checks).
   Figures: store bytes per hour (pages in use), and the CPU of that path as % of one core.
2. A real recorder (warroom record's loop, in this process) on a throwaway cluster with 50
   client backends, half of them running a query each second (driven from another process):
   the whole process's CPU as % of one core (collectors, server log, findings, store).
3. Seek: a synthetic 48 h store at 500 backends (keyframes as the store makes them); state_at
   at random moments, p50 / p95 / max.
4. Lead-up attach: 48 h of 10 s rollups in the store, lead_up() of 30 minutes, p50 / p95.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from warroom.collectors.backends import parse_list
from warroom.recording.frame import Frame, Rows, row_of
from warroom.recording.leadup import lead_up
from warroom.recording.retention import Retention
from warroom.recording.store import KEY_EVERY, FrameStore
from warroom.rollup import SampleRollup
from warroom.sessions.toml_codec import render_block, rollup_table

T0 = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
APPS = ["checkout", "orders-api", "batch-export", "", "payments", "search", "psql", "reports"]
USERS = ["app", "batch", "reporting", "postgres"]
TEMPLATES = [
    "SELECT o.id, o.status, o.total FROM orders o WHERE o.customer_id = {n} AND o.status = "
    "'open' ORDER BY o.created_at DESC LIMIT 20",
    "UPDATE accounts SET balance = balance - {n} WHERE id = {m} RETURNING balance",
    "INSERT INTO events (kind, payload, at) VALUES ('click', '{{\"item\": {n}}}', now())",
    "SELECT count(*) FROM line_items li JOIN products p ON p.id = li.product_id WHERE "
    "li.order_id = {n}",
    "COMMIT",
    "BEGIN",
    "SELECT pg_advisory_xact_lock({n})",
    "DELETE FROM sessions WHERE expires_at < now() - interval '{m} minutes'",
]


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class Workload:
    """N backends; each second half of them change, as the server would list them (JSON)."""

    def __init__(self, n: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.rows = [self._new(pid, 0.0) for pid in range(10_000, 10_000 + n)]

    def _new(self, pid: int, now: float) -> dict[str, object]:
        rng = self.rng
        return {"pid": pid, "backend_start": iso(now - rng.uniform(0, 86400)), "database": "shop",
                "application": rng.choice(APPS), "user": rng.choice(USERS),
                "client": f"10.0.{rng.randint(0, 3)}.{rng.randint(1, 30)}",
                "client_port": rng.randint(30000, 60000), "state": "idle",
                "xact_start": None, "query_start": iso(now - 5), "xact_s": None, "query_s": 5.0,
                "state_s": 5.0, "wait_type": "Client", "wait_event": "ClientRead",
                "blocked_by": [], "query": "SELECT 1", "query_truncated": False}  # fmt: skip

    def second(self, now: float) -> str:
        rng = self.rng
        for row in rng.sample(self.rows, len(self.rows) // 2):
            state = rng.choice(["active", "idle", "idle in transaction"])
            row["state"] = state
            row["query_start"] = iso(now - rng.uniform(0, 0.5))
            row["xact_start"] = None if state == "idle" else iso(now - rng.uniform(0, 2))
            row["query"] = rng.choice(TEMPLATES).format(n=rng.randint(1, 10**6),
                                                        m=rng.randint(1, 500))  # fmt: skip
            row["wait_type"], row["wait_event"] = (
                ("", "") if state == "active" else ("Client", "ClientRead"))
        return json.dumps(self.rows)


def figures(now: float, n: int, rng: random.Random) -> dict[str, object]:
    """A sample's JSON of the usual size (as `sample --json` prints it)."""
    apps = [{"name": a or "user app", "count": rng.randint(1, n)} for a in APPS[:5]]
    return {
        "at": datetime.fromtimestamp(now, UTC).isoformat(), "status": "up", "error": None,
        "connections": {"total": n, "max": n + 100, "saturation": round(n / (n + 100), 4),
                        "by_state": {"active": n // 3, "idle": n // 3,
                                     "idle in transaction": n - 2 * (n // 3)},
                        "waiting": rng.randint(0, 5), "by_application": apps,
                        "source": "server", "by_user": apps, "by_client": apps,
                        "by_group": [{"name": a["name"], "count": a["count"], "clients": apps[:3]}
                                     for a in apps]},
        "latency_ms": {"query": round(rng.uniform(0.2, 3), 3), "connect": 4.2},
        "tps": round(rng.uniform(100, 900), 2), "findings": [],
        "signals": {"statements": [{"query": TEMPLATES[i % 8], "calls": rng.randint(1, 9999),
                                    "total_ms": round(rng.uniform(1, 9999), 3)}
                                   for i in range(10)],
                    "waits": [{"type": "Lock", "event": "transactionid", "count": 2}]},
        "role": "primary", "replication": None,
        "server_log": {"source": "file", "counts": {"refused": 0, "fatal": rng.randint(0, 2)}},
    }  # fmt: skip


def synthetic(n: int, seconds: int, where: Path) -> tuple[float, float]:
    """(MB per hour stored, CPU % of a core) for ``seconds`` of frames at 1 s."""
    work = Workload(n)
    rng = random.Random(1)
    path = where / f"synthetic-{n}.sqlite"
    clock_now = [T0.timestamp()]
    cpu = 0.0
    cache = Rows()
    with FrameStore(path, clock=lambda: clock_now[0]) as store:
        for s in range(seconds):
            now = T0.timestamp() + s
            clock_now[0] = now
            text = work.second(now)  # the server's part: not the recorder's CPU
            figs = figures(now, n, rng)
            started = time.process_time()
            rows = cache.of(parse_list(text), now)
            store.append(Frame("db1", datetime.fromtimestamp(now, UTC), "up", figs, rows))
            cpu += time.process_time() - started
        used = store.used_bytes()
    return used / seconds * 3600 / 1e6, cpu / seconds * 100


def seek_48h(where: Path, n: int = 500, hours: float = 48.0) -> tuple[float, float, float, int]:
    """Builds the store from a few real frames' blobs repeated (a seek's cost is in the
    number and size of blobs it reads, not in their variety); state_at timings in ms."""
    path = where / "seek-48h.sqlite"
    template = where / "template.sqlite"
    work = Workload(n)
    rng = random.Random(2)
    with FrameStore(template, clock=lambda: T0.timestamp() + 120) as store:
        for s in range(120):
            now = T0.timestamp() + s
            rows = tuple(row_of(b, now) for b in parse_list(work.second(now)))
            store.append(Frame("db1", datetime.fromtimestamp(now, UTC), "up",
                               figures(now, n, rng), rows))  # fmt: skip
        blobs = store._db.execute(
            "SELECT id = key, figures, backends FROM frames ORDER BY id").fetchall()
    keys = [b for b in blobs if b[0]]
    deltas = [b for b in blobs if not b[0]]
    total = int(hours * 3600)
    with FrameStore(path, retention=Retention(float("inf"), 2**62)) as store:
        store._server_id("db1")
        db = store._db
        db.execute("BEGIN")
        batch = []
        for i in range(total):
            frame_id = i + 1
            keyframe = i % KEY_EVERY == 0
            key = frame_id - (i % KEY_EVERY)
            _, figs, blob = (keys[i // KEY_EVERY % len(keys)] if keyframe
                             else deltas[i % len(deltas)])  # fmt: skip
            batch.append((frame_id, 1, T0.timestamp() + i, key, "up", figs, blob))
            if len(batch) >= 10_000:
                db.executemany("INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                batch.clear()
        db.executemany("INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
        db.execute("COMMIT")
        size = store.used_bytes()
    times = []
    with FrameStore(path, readonly=True) as store:
        for _ in range(300):
            at = T0 + timedelta(seconds=rng.uniform(0, total))
            started = time.perf_counter()
            frame = store.state_at("db1", at)
            times.append((time.perf_counter() - started) * 1000)
            assert frame is not None and frame.backends is not None
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], times[-1], size


def attach(where: Path, hours: float = 48.0) -> tuple[float, float, int]:
    path = where / "rollups.sqlite"
    rng = random.Random(3)
    with FrameStore(path, retention=Retention(float("inf"), 2**62)) as store:
        store._db.execute("BEGIN")
        for i in range(int(hours * 360)):
            at = T0 + timedelta(seconds=10 * i)
            rollup = SampleRollup(
                at, samples=10, conn_min=40, conn_mean=55.5, conn_max=70, max_connections=200,
                query_p50_ms=0.4, query_p95_ms=1.2, query_max_ms=3.0, connect_max_ms=5.0,
                conn_last=60, usable=197, waiting=rng.randint(0, 3),
                by_state={"active": 10, "idle": 40, "idle in transaction": 10},
                top_apps=tuple((a or "x", rng.randint(1, 30)) for a in APPS[:5]),
                tps=321.5, server="db1",
            )  # fmt: skip
            store.add_rollup("db1", at, render_block("samples", rollup_table(rollup)).decode())
        store._db.execute("COMMIT")
    times = []
    found = 0
    with FrameStore(path, readonly=True) as store:
        for _ in range(50):
            start = T0 + timedelta(seconds=rng.uniform(3600, hours * 3600))
            began = time.perf_counter()
            found = len(lead_up(store, "db1", start))
            times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], found


DRIVER = """
import sys, time, random, psycopg
conns = [psycopg.connect(sys.argv[1], autocommit=True) for _ in range(int(sys.argv[2]))]
print("ready", flush=True)
while True:
    began = time.monotonic()
    for c in random.sample(conns, len(conns) // 2):
        c.execute("SELECT %s::int + 1", (random.randint(1, 10**6),))
    time.sleep(max(0.0, 1.0 - (time.monotonic() - began)))
"""


def real(seconds: float = 60.0, backends: int = 50) -> float | None:
    try:
        from support.pgcluster import MONITOR_ROLE, PgCluster
    except ImportError:
        return None
    from warroom.collectors.alerts import AlertConfig
    from warroom.collectors.headless import ServerLines
    from warroom.collectors.postgres import PostgresCollector
    from warroom.recording.recorder import Recorder
    from warroom.recording.sampler import ServerFrames

    with PgCluster(max_connections=backends + 20) as pg, tempfile.TemporaryDirectory() as tmp:
        pg.start()
        driver = subprocess.Popen([sys.executable, "-c", DRIVER, pg.dsn(), str(backends)],
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert driver.stdout is not None and driver.stdout.readline().strip() == "ready"
            dsn = pg.dsn(user=MONITOR_ROLE)
            alerts = AlertConfig()
            frames = ServerFrames(ServerLines(PostgresCollector(dsn, interval=1.0), None,
                                              "db1", alerts.findings, dsn), "db1", alerts)
            recorder = Recorder([frames], Path(tmp) / "real.sqlite", Retention(), 1.0,
                                lambda line: None)  # fmt: skip
            recorder.open_store()
            stop = threading.Event()
            warm = threading.Timer(5.0, lambda: None)
            warm.start()
            began_cpu, began = time.process_time(), time.monotonic()
            threading.Timer(seconds, stop.set).start()
            recorder.run(stop)
            cpu = time.process_time() - began_cpu
            return cpu / (time.monotonic() - began) * 100
        finally:
            driver.kill()
            driver.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer hours")
    parser.add_argument("--no-real", action="store_true", help="skip the real-cluster run")
    args = parser.parse_args()
    seconds = 120 if args.quick else 600
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        print(f"synthetic load at 1 s, half the backends changing each second ({seconds} s):")
        for n in (50, 500, 1000):
            mb, cpu = synthetic(n, seconds, where)
            print(f"  {n:>5} backends: {mb:7.1f} MB/hour stored   recorder path CPU "
                  f"{cpu:5.2f} % of a core")
        if not args.no_real:
            pct = real(30.0 if args.quick else 60.0)
            if pct is not None:
                print(f"real recorder, 50 backends (25 querying each second): {pct:.2f} % of a "
                      "core (whole process: collectors, server log, findings, alerts, store)")
        hours = 6.0 if args.quick else 48.0
        p50, p95, worst, size = seek_48h(where, hours=hours)
        print(f"seek, {hours:g} h store at 500 backends ({size / 1e9:.2f} GB): "
              f"p50 {p50:.1f} ms  p95 {p95:.1f} ms  max {worst:.1f} ms")
        a50, a95, found = attach(where, hours=hours)
        print(f"lead-up attach (30 min = {found} rollups out of {hours:g} h): "
              f"p50 {a50:.1f} ms  p95 {a95:.1f} ms")


if __name__ == "__main__":
    main()
