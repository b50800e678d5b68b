"""When the database does not answer: typed failures, within the budget, never a hang.

Elapsed-time checks here are deliberately loose upper bounds ("the call came back"), not
speed assertions: a hang would blow through them by orders of magnitude.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import struct
import threading
import time

import psycopg
import pytest
from support.pgcluster import APP_ROLE, MONITOR_ROLE, PASSWORD_ROLE, PgCluster, free_port
from support.pgtest import sample_until
from support.proxy import TcpProxy

from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import FailureKind

HANG = 5.0  # seconds: far beyond any budget used here; only proves the call returned


def monitor(cluster: PgCluster, **kwargs) -> PostgresCollector:
    kwargs.setdefault("probe_every", 0)
    kwargs.setdefault("backoff_base", 0.05)
    kwargs.setdefault("backoff_max", 0.5)
    dsn = cluster.dsn(user=MONITOR_ROLE, **kwargs.pop("dsn_extra", {}))
    return PostgresCollector(dsn, **kwargs)


def timed(col: PostgresCollector):
    t0 = time.monotonic()
    s = col.sample()
    return s, time.monotonic() - t0


def fill(cluster: PgCluster, held: list) -> None:
    """Open non-superuser connections until the server refuses one with 53300."""
    for _ in range(cluster.max_connections + 1):
        try:
            held.append(cluster.connect(user=APP_ROLE, application_name="storm"))
        except psycopg.OperationalError as exc:
            assert "reserved" in str(exc) or "too many" in str(exc)
            return
    raise AssertionError("the server never refused a connection")


def test_monitor_connected_before_storm_reports_saturation_and_refusals(pg_factory) -> None:
    cluster = pg_factory(max_connections=8)  # 3 reserved for superusers: 5 usable
    held: list = []
    with monitor(cluster, probe_every=0.1) as col:
        sample_until(col, lambda s: s.up and s.connect_ms is not None)
        try:
            fill(cluster, held)
            s = sample_until(
                col,
                lambda s: s.probe_error is not None
                and s.probe_error.kind == FailureKind.TOO_MANY_CONNECTIONS,
            )
            assert s.up  # the held monitoring connection keeps answering
            assert s.connections.total == 4  # 5 usable, one of them is ours
            assert s.connections.max == 8 and s.connections.reserved == 3
            assert s.connections.saturation == pytest.approx(0.8)
            assert s.connections.by_application[0].name == "storm"
            assert s.probe_error.sqlstate == "53300"
            assert s.connect_ms is None
            doc = s.to_json()
            assert doc["status"] == "up"
            assert doc["error"]["kind"] == "too_many_connections"
            assert doc["error"]["sqlstate"] == "53300"
        finally:
            for conn in held:
                conn.close()
        s = sample_until(col, lambda s: s.probe_error is None and s.connect_ms is not None)
        assert s.up


def test_a_connection_still_authenticating_is_not_counted(pg_factory) -> None:
    # PostgreSQL 18 lists a backend as 'starting' until it has authenticated (earlier majors
    # do not list it yet); against a full server such attempts are the ones it refuses, and
    # our own probe is one of them before its name arrives. They hold no usable slot.
    cluster = pg_factory(max_connections=10)
    # Asked first: version_num connects, and its backend, still exiting, would be counted.
    lists_starting = cluster.version_num >= 180000
    with monitor(cluster) as col, socket.create_connection(("127.0.0.1", cluster.port)) as raw:
        before = sample_until(col, lambda s: s.up and s.connections.total == 0)
        params = f"user\0{PASSWORD_ROLE}\0database\0postgres\0\0".encode()
        raw.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        assert raw.recv(1) == b"R"  # the server asks for the password, and waits for it
        if lists_starting:
            with cluster.connect() as conn:
                deadline = time.monotonic() + HANG
                while not conn.execute("SELECT count(*) FROM pg_stat_activity"
                                       " WHERE state = 'starting'").fetchone()[0]:  # fmt: skip
                    assert time.monotonic() < deadline, "no backend was listed as starting"
                    time.sleep(0.02)
        # Polled: the connection that looked for 'starting' may still be exiting; one that
        # counted the attempt would never come back down to the total before it.
        s = sample_until(col, lambda s: s.up and s.connections.total == before.connections.total)
        assert "starting" not in s.connections.by_state


def test_monitor_starting_when_full_gets_typed_53300_then_recovers(pg_factory) -> None:
    cluster = pg_factory(max_connections=7)
    held: list = []
    try:
        fill(cluster, held)
        with monitor(cluster) as col:
            for _ in range(3):  # the first sample and the backed-off ones after it
                s, elapsed = timed(col)
                assert elapsed < HANG
                assert s.status == "down"
                assert s.error.kind == FailureKind.TOO_MANY_CONNECTIONS
                assert s.error.sqlstate == "53300"
                assert "sqlstate" not in s.error.message.lower()
            assert col.down_since is not None
            held.pop().close()
            s = sample_until(col, lambda s: s.up)
            assert s.connections.total == len(held)
            assert col.down_since is None
            assert col.down_windows[-1].ended_at == s.at
    finally:
        for conn in held:
            conn.close()


def test_immediate_stop_mid_run_is_a_typed_failure_then_recovers(pg_factory) -> None:
    cluster = pg_factory()
    with monitor(cluster, probe_every=0.1) as col:
        sample_until(col, lambda s: s.up)
        cluster.stop("immediate")
        s, elapsed = timed(col)
        assert elapsed < HANG
        assert s.status == "down"
        assert s.error.kind in {FailureKind.SHUTTING_DOWN, FailureKind.UNREACHABLE}
        # While backing off, samples answer at once and stay down.
        for _ in range(5):
            s, elapsed = timed(col)
            assert s.status == "down" and elapsed < HANG
        s = sample_until(col, lambda s: s.probe_error is not None)
        assert s.probe_error.kind == FailureKind.UNREACHABLE
        cluster.start()
        s = sample_until(col, lambda s: s.up)
        assert s.connections is not None
        window = col.down_windows[-1]
        assert window.ended_at == s.at and window.seconds > 0


def test_starting_while_the_server_is_down_is_a_normal_start(pg_factory) -> None:
    cluster = pg_factory(start=False)
    with PostgresCollector(
        f"host=127.0.0.1 port={cluster.port} user={MONITOR_ROLE} dbname=postgres",
        probe_every=0, backoff_base=0.05, backoff_max=0.5,
    ) as col:  # fmt: skip
        s, elapsed = timed(col)
        assert s.status == "down" and s.error.kind == FailureKind.UNREACHABLE and elapsed < HANG
        cluster.start()
        assert sample_until(col, lambda s: s.up).connections.total == 0


def test_smart_shutdown_in_progress_is_shutting_down_57p03(pg_factory) -> None:
    cluster = pg_factory()
    blocker = cluster.connect(user=APP_ROLE)  # keeps a smart shutdown waiting
    try:
        cluster.stop("smart", wait=False)
        with monitor(cluster) as col:
            s = sample_until(col, lambda s: s.error is not None and s.error.sqlstate == "57P03")
            assert s.error.kind == FailureKind.SHUTTING_DOWN
    finally:
        blocker.close()


def test_auth_and_permission_failures_are_typed(pg) -> None:
    dsn = pg.dsn(user=PASSWORD_ROLE, password="not-the-password")
    with PostgresCollector(dsn, probe_every=0) as col:
        s = col.sample()
    assert s.error.kind == FailureKind.AUTH and s.error.sqlstate == "28P01"
    assert "not-the-password" not in s.error.message

    with pg.connect() as admin:
        admin.execute("DROP DATABASE IF EXISTS locked_out")
        admin.execute("CREATE DATABASE locked_out")
        admin.execute("REVOKE CONNECT ON DATABASE locked_out FROM PUBLIC")
    try:
        with monitor(pg, dsn_extra={"dbname": "locked_out"}) as col:
            s = col.sample()
        assert s.error.kind == FailureKind.PERMISSION and s.error.sqlstate == "42501"
    finally:
        with pg.connect() as admin:
            admin.execute("DROP DATABASE locked_out")


def test_sigstopped_backend_gives_timeout_within_budget_then_reconnects(pg_factory) -> None:
    cluster = pg_factory()
    with monitor(cluster, interval=1.0) as col:
        sample_until(col, lambda s: s.up)
        stalled = col.backend_pid
        os.kill(stalled, signal.SIGSTOP)
        try:
            s, elapsed = timed(col)
            assert s.status == "down"
            assert s.error.kind == FailureKind.TIMEOUT
            assert elapsed < HANG
        finally:
            os.kill(stalled, signal.SIGCONT)
        s = sample_until(col, lambda s: s.up)
        assert col.backend_pid != stalled  # the stalled connection was discarded, not reused


def test_proxy_that_stops_forwarding_gives_timeout_and_close_returns(pg) -> None:
    with TcpProxy(pg.port) as proxy:
        col = PostgresCollector(
            pg.dsn(user=MONITOR_ROLE, port=proxy.port), probe_every=0.2,
            backoff_base=0.05, backoff_max=0.5,
        )  # fmt: skip
        try:
            sample_until(col, lambda s: s.up and s.connect_ms is not None)
            proxy.stall()
            s, elapsed = timed(col)
            assert s.status == "down" and s.error.kind == FailureKind.TIMEOUT
            assert elapsed < HANG
            # Reconnecting through the dead path times out too; samples keep answering.
            for _ in range(3):
                s, elapsed = timed(col)
                assert s.status == "down" and elapsed < HANG
            s = sample_until(col, lambda s: s.probe_error is not None)
            assert s.probe_error.kind == FailureKind.TIMEOUT
            proxy.resume()
            assert sample_until(col, lambda s: s.up).up
        finally:
            col.close()


def test_close_returns_promptly_while_a_sample_is_stalled(pg) -> None:
    with TcpProxy(pg.port) as proxy:
        col = PostgresCollector(
            pg.dsn(user=MONITOR_ROLE, port=proxy.port), interval=60, probe_every=0
        )
        sample_until(col, lambda s: s.up)
        proxy.stall()
        results = []
        worker = threading.Thread(target=lambda: results.append(col.sample()))
        worker.start()
        # Wait until the sample is really stuck on the socket: the proxy holds its bytes.
        deadline = time.monotonic() + HANG
        while worker.is_alive() and time.monotonic() < deadline and not _proxy_holds(proxy):
            time.sleep(0.01)
        t0 = time.monotonic()
        col.close()
        worker.join(timeout=HANG)
        assert time.monotonic() - t0 < HANG
        assert not worker.is_alive()
        assert results[0].status == "down"


def _proxy_holds(proxy: TcpProxy) -> bool:
    # The sample has sent its query once the stalled proxy received client bytes.
    return proxy.held_bytes > 0


def test_latency_through_a_delaying_proxy_shows_the_delay(pg) -> None:
    # How close the figure is to the delay is a measurement: bench/bench_sample_budget.py.
    one_way = 0.05
    with TcpProxy(pg.port, delay=one_way) as proxy:
        with PostgresCollector(
            pg.dsn(user=MONITOR_ROLE, port=proxy.port), interval=2.0, probe_every=0.5
        ) as col:
            sample_until(col, lambda s: s.up and s.connect_ms is not None)
            samples = [col.sample() for _ in range(5)]
    assert all(s.up for s in samples)
    median = statistics.median(s.query_ms for s in samples)
    expected = 2 * one_way * 1000
    assert median >= expected, median  # a round trip crosses the delay twice
    # A connection needs several round trips before the server says it is ready.
    assert samples[-1].connect_ms >= expected


def test_unreachable_port_is_typed_and_no_thread_outlives_close() -> None:
    with PostgresCollector(f"host=127.0.0.1 port={free_port()}", probe_every=0.05) as col:
        s = col.sample()
        assert s.error.kind == FailureKind.UNREACHABLE
        sample_until(col, lambda s: s.probe_error is not None)
    deadline = time.monotonic() + HANG
    while _collector_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _collector_threads()


def _collector_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("warroom-pg")]
