"""Helpers for the PostgreSQL collector tests: held connections and polling with a deadline."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import psycopg

from support.pgcluster import PgCluster
from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import PgSample


def sample_until(
    collector: PostgresCollector,
    ok: Callable[[PgSample], bool],
    timeout: float = 15.0,
) -> PgSample:
    """Sample (at the collector's pace) until ``ok`` holds; fail with the last sample if not."""
    deadline = time.monotonic() + timeout
    last: PgSample | None = None
    while time.monotonic() < deadline:
        started = time.monotonic()
        last = collector.sample()
        if ok(last):
            return last
        # Keep the collector's own cadence: we are its caller, like the app's poll loop.
        time.sleep(max(0.0, collector.interval / 4 - (time.monotonic() - started)))
    raise AssertionError(f"condition not met within {timeout}s; last sample: {last}")


class Held:
    """Connections a test holds open in known states; all closed on exit."""

    def __init__(self, cluster: PgCluster) -> None:
        self.cluster = cluster
        self.conns: list[psycopg.Connection[tuple[object, ...]]] = []
        self._threads: list[tuple[threading.Thread, psycopg.Connection[tuple[object, ...]]]] = []

    def idle(self, app: str, user: str = "app") -> psycopg.Connection[tuple[object, ...]]:
        conn = self.cluster.connect(user=user, application_name=app)
        self.conns.append(conn)
        return conn

    def idle_in_transaction(self, app: str, user: str = "app", *, aborted: bool = False) -> None:
        conn = self.idle(app, user)
        conn.execute("BEGIN")
        conn.execute("SELECT 1")
        if aborted:
            with contextlib.suppress(psycopg.errors.DivisionByZero):
                conn.execute("SELECT 1/0")

    def active(self, app: str, sql: str = "SELECT pg_sleep(60)", user: str = "app") -> int:
        """Run ``sql`` on a new connection in a thread; returns its backend pid."""
        conn = self.idle(app, user)
        pid = conn.info.backend_pid

        def run() -> None:
            with contextlib.suppress(psycopg.Error):
                conn.execute(sql)  # type: ignore[arg-type]

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._threads.append((thread, conn))
        return pid

    def close(self) -> None:
        for _thread, conn in self._threads:
            with contextlib.suppress(psycopg.Error):
                conn.cancel_safe(timeout=5)
        for thread, _conn in self._threads:
            thread.join(timeout=10)
        for conn in self.conns:
            with contextlib.suppress(psycopg.Error):
                conn.close()


@contextlib.contextmanager
def held(cluster: PgCluster) -> Iterator[Held]:
    h = Held(cluster)
    try:
        yield h
    finally:
        h.close()


def wait_active(cluster: PgCluster, app: str, n: int, *, lock: bool = False) -> None:
    extra = " AND wait_event_type = 'Lock'" if lock else ""
    cluster.wait_for(
        "SELECT count(*) FROM pg_stat_activity"
        f" WHERE application_name = '{app}' AND state = 'active'{extra}",
        n,
    )
