"""The drill's load generator: one fake service (a connection pool of worker threads) per process.

Run as ``python -m warroom.drill.loadgen --dsn ... --app shop-api --request lookup --pool 5``.
The parent steers it with JSON lines on stdin (``{"ramp": [60, 30]}``, ``{"pool": 5,
"leak": 0}``) and reads one JSON status line on stdout about twice a second. It is bounded: at
most ``MAX_POOL`` connections, at most ``--max-seconds`` of life, traffic to 127.0.0.1 only,
and it exits by itself when its parent goes away (stdin closes, or the parent pid changes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

MAX_POOL = 200
REQUESTS = ("lookup", "point", "hot-update", "search", "hold")
_REFUSED = ("too many clients", "remaining connection slots are reserved")


@dataclass
class Pool:
    """What the service's pool is configured to do; changed by the parent's commands."""

    base: int  # where a ramp starts, and where a pool that lost its connections restarts
    ramp_from: int
    ramp_to: int
    ramp_s: float
    ramp_t0: float
    leak: float  # share of requests that leave their transaction open (the misconfiguration)
    leak_hold_s: float
    on_kill: str  # "reramp": refill from ``base`` over the ramp; "stop": the job died
    lock: threading.Lock = field(default_factory=threading.Lock)

    def target(self, now: float) -> int:
        with self.lock:
            return self.target_unlocked(now)

    def set(self, size: int, ramp_s: float = 0.0, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            current = self.target_unlocked(now)
            self.ramp_from, self.ramp_to = current, max(0, min(size, MAX_POOL))
            self.ramp_s, self.ramp_t0 = max(0.0, ramp_s), now

    def target_unlocked(self, now: float) -> int:
        if self.ramp_s <= 0 or now >= self.ramp_t0 + self.ramp_s:
            return self.ramp_to
        done = max(0.0, now - self.ramp_t0) / self.ramp_s
        return round(self.ramp_from + (self.ramp_to - self.ramp_from) * done)


class Service:
    def __init__(self, dsn: str, app: str, request: str, pool: Pool, think_s: float) -> None:
        self.dsn = make_conninfo(dsn, application_name=app, connect_timeout=5)
        self.request = request
        self.pool = pool
        self.think_s = think_s
        self.stop = threading.Event()
        self.workers: dict[int, threading.Thread] = {}
        self.open = 0
        self.refused = 0
        self.killed = 0
        self.requests = 0
        self.errors = 0
        self.last_error = ""
        self.latencies: deque[float] = deque(maxlen=200)
        self._lock = threading.Lock()
        self._kill_burst_at = 0.0

    # -- the pool manager ------------------------------------------------------------------

    def run(self, deadline: float) -> None:
        while not self.stop.is_set() and time.monotonic() < deadline:
            target = self.pool.target(time.monotonic())
            for index in range(target):
                worker = self.workers.get(index)
                if worker is None or not worker.is_alive():
                    thread = threading.Thread(
                        target=self.worker, args=(index,), name=f"worker-{index}", daemon=True
                    )
                    self.workers[index] = thread
                    thread.start()
            self.stop.wait(0.05)
        self.stop.set()

    def active(self, index: int) -> bool:
        return not self.stop.is_set() and index < self.pool.target(time.monotonic())

    # -- one pooled connection ---------------------------------------------------------------

    def worker(self, index: int) -> None:
        rng = random.Random(index * 7919 + os.getpid())
        backoff = 0.2
        while self.active(index):
            try:
                conn = psycopg.connect(self.dsn, autocommit=True)
            except psycopg.Error as exc:
                self.note_error(exc, connecting=True)
                # A refused pool slot retries with backoff, like a real pool would.
                self.stop.wait(backoff * rng.uniform(0.5, 1.5))
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.2
            with self._lock:
                self.open += 1
            try:
                while self.active(index):
                    self.one_request(conn, index, rng)
                    self.stop.wait(self.think_s * rng.uniform(0.5, 1.5))
            except psycopg.Error as exc:
                if self.note_error(exc, connecting=False):
                    self.lost_connection()
            finally:
                with self._lock:
                    self.open -= 1
                with contextlib.suppress(Exception):
                    conn.close()

    def one_request(self, conn: psycopg.Connection[Any], index: int, rng: random.Random) -> None:
        started = time.monotonic()
        if self.request == "hold":
            # A batch job: takes the hot row's lock, then sits in its transaction.
            conn.execute("BEGIN")
            conn.execute("UPDATE inventory SET qty = qty WHERE sku = 'hot'")
            while self.active(index):
                self.stop.wait(0.1)
            conn.execute("ROLLBACK")
            return
        if self.request == "hot-update":
            conn.execute("UPDATE inventory SET qty = qty - 1 WHERE sku = 'hot'")
        elif self.request == "point":
            order = rng.randrange(1, 50_000)
            conn.execute("SELECT total FROM orders WHERE id = %s", (order,)).fetchone()
        elif self.request == "search":
            customer = rng.randrange(1, 5000)
            conn.execute(
                "SELECT count(*), sum(total) FROM orders WHERE customer_id = %s", (customer,)
            ).fetchone()
        else:
            order = rng.randrange(1, 50_000)
            leak = rng.random() < self.pool.leak
            if leak:
                conn.execute("BEGIN")
            conn.execute(
                "SELECT id, total, pg_sleep(0.02) FROM orders WHERE id = %s", (order,)
            ).fetchone()
            self.record(time.monotonic() - started)
            if leak:
                # The bug: a code path that forgets to commit; the session sits idle in
                # transaction until the pool's (absurd) timeout, or until the pool is fixed.
                until = time.monotonic() + self.pool.leak_hold_s
                while self.active(index) and self.pool.leak > 0 and time.monotonic() < until:
                    self.stop.wait(0.1)
                conn.execute("COMMIT")
            return
        self.record(time.monotonic() - started)

    def record(self, seconds: float) -> None:
        with self._lock:
            self.requests += 1
            self.latencies.append(seconds * 1000.0)

    def note_error(self, exc: psycopg.Error, *, connecting: bool) -> bool:
        """Count the failure; True when an administrator terminated the connection."""
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sqlstate = getattr(exc, "sqlstate", None)
        killed = sqlstate == "57P01" or "terminating connection due to administrator" in text
        with self._lock:
            if connecting and any(s in text for s in _REFUSED):
                self.refused += 1
            elif killed:
                self.killed += 1
            else:
                self.errors += 1
                self.last_error = text[:200]
        return killed

    def lost_connection(self) -> None:
        """Someone terminated our backends: the pool starts over (not all at once)."""
        now = time.monotonic()
        with self._lock:
            first = now - self._kill_burst_at > 1.0
            self._kill_burst_at = now
        if not first:
            return
        if self.pool.on_kill == "stop":
            self.pool.set(0)
            return
        with self.pool.lock:
            goal, ramp_s = self.pool.ramp_to, self.pool.ramp_s
        if goal > self.pool.base:
            # The misconfigured pool refills toward its too-large max, from its base size.
            self.pool.set(self.pool.base, now=now)
            self.pool.set(goal, ramp_s=max(ramp_s, 1.0), now=now)

    def status(self) -> dict[str, Any]:
        with self._lock:
            lat = sorted(self.latencies)
            p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))] if lat else None
            return {
                "open": self.open,
                "target": self.pool.target(time.monotonic()),
                "refused": self.refused,
                "killed": self.killed,
                "requests": self.requests,
                "errors": self.errors,
                "last_error": self.last_error,
                "p95_ms": None if p95 is None else round(p95, 1),
                "leak": self.pool.leak,
            }


def apply(service: Service, command: dict[str, Any]) -> None:
    pool = service.pool
    if "leak" in command:
        pool.leak = max(0.0, min(float(command["leak"]), 1.0))
    if command.get("request") in REQUESTS:
        service.request = str(command["request"])
    if "think" in command:
        service.think_s = max(0.0, float(command["think"]))
    if "ramp" in command:
        size, seconds = command["ramp"]
        pool.set(int(size), ramp_s=float(seconds))
    if "pool" in command:
        size = int(command["pool"])
        pool.base = min(max(size, 0), MAX_POOL)
        pool.set(size)
    if command.get("stop"):
        service.stop.set()


def read_commands(service: Service) -> None:
    for line in sys.stdin:
        try:
            command = json.loads(line)
        except ValueError:
            continue
        if isinstance(command, dict):
            apply(service, command)
    service.stop.set()  # stdin closed: the parent is gone or done with us


def watch_parent(service: Service, parent: int) -> None:
    while not service.stop.wait(0.25):
        if os.getppid() != parent:
            service.stop.set()


def report(service: Service) -> None:
    while not service.stop.wait(0.5):
        try:
            sys.stdout.write(json.dumps(service.status()) + "\n")
            sys.stdout.flush()
        except (OSError, ValueError):
            service.stop.set()


def loopback_only(dsn: str) -> None:
    host = str(conninfo_to_dict(dsn).get("host") or "")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"loadgen: refusing to send load to {host!r}: loopback only")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m warroom.drill.loadgen")
    p.add_argument("--dsn", required=True)
    p.add_argument("--app", required=True, help="application_name the service connects with")
    p.add_argument("--request", choices=REQUESTS, default="lookup")
    p.add_argument("--pool", type=int, default=5)
    p.add_argument("--leak", type=float, default=0.0)
    p.add_argument("--leak-hold", type=float, default=600.0)
    p.add_argument("--think", type=float, default=0.5)
    p.add_argument("--on-kill", choices=("reramp", "stop"), default="reramp")
    p.add_argument("--max-seconds", type=float, default=3600.0)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    loopback_only(args.dsn)
    size = min(max(args.pool, 0), MAX_POOL)
    now = time.monotonic()
    pool = Pool(size, size, size, 0.0, now, args.leak, args.leak_hold, args.on_kill)
    service = Service(args.dsn, args.app, args.request, pool, args.think)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: service.stop.set())
    parent = os.getppid()
    for target in (read_commands, report):
        threading.Thread(target=target, args=(service,), daemon=True).start()
    threading.Thread(target=watch_parent, args=(service, parent), daemon=True).start()
    service.run(time.monotonic() + args.max_seconds)
    # Leave promptly: the workers' connections close with the process.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
