"""The PgBouncer collector against a real PgBouncer in front of the suite's PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cli_helpers import run_warroom
from support.pgbouncer import PLAIN_USER, POOL_DB, PgBouncer
from support.pgcluster import MONITOR_ROLE, PgCluster, free_port

from warroom.collectors.pgbouncer import BouncerSample, PgBouncerCollector, PoolStats
from warroom.collectors.sample import FailureKind

DEADLINE = 20.0


@pytest.fixture
def collectors() -> Iterator[Callable[..., PgBouncerCollector]]:
    made: list[PgBouncerCollector] = []

    def make(dsn: str, **kwargs: float) -> PgBouncerCollector:
        collector = PgBouncerCollector(dsn, **kwargs)
        made.append(collector)
        return collector

    yield make
    for collector in made:
        collector.close()


def client(stack: ExitStack, bouncer: PgBouncer) -> psycopg.Connection:
    # prepare_threshold=None: no named prepared statements through a transaction pool.
    conn = psycopg.connect(bouncer.dsn(), autocommit=True, prepare_threshold=None)
    return stack.enter_context(conn)


def app_pool(sample: BouncerSample) -> PoolStats:
    assert sample.up, sample.error
    (pool,) = [p for p in sample.pools if p.database == POOL_DB]
    return pool


def poll(collector: PgBouncerCollector, done: Callable[[BouncerSample], bool]) -> BouncerSample:
    deadline = time.monotonic() + DEADLINE
    sample = collector.sample()
    while not done(sample):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {DEADLINE}s; last sample {sample}")
        time.sleep(0.02)
        sample = collector.sample()
    return sample


def test_pools_show_active_waiting_and_server_connections(bouncer: PgBouncer, collectors) -> None:
    collector = collectors(bouncer.admin_dsn())
    with ExitStack() as stack:
        # pool_size=2, transaction pooling: two clients inside a transaction hold both servers.
        holders = [client(stack, bouncer) for _ in range(2)]
        for conn in holders:
            conn.execute("BEGIN")
            conn.execute("SELECT 1")
        client(stack, bouncer)  # connected and idle: counts as an active client, no server
        waiter = client(stack, bouncer)
        answered = threading.Event()

        def wait_for_a_server() -> None:
            waiter.execute("SELECT 1")
            answered.set()

        thread = threading.Thread(target=wait_for_a_server, daemon=True)
        thread.start()
        sample = poll(collector, lambda s: s.up and app_pool(s).cl_waiting == 1)
        pool = app_pool(sample)
        assert (pool.user, pool.cl_active, pool.cl_waiting) == ("postgres", 3, 1)
        assert (pool.sv_active, pool.sv_idle) == (2, 0)
        # The waiting client's wait shows up as maxwait, in seconds.
        sample = poll(collector, lambda s: app_pool(s).maxwait_s > 0.05)
        assert app_pool(sample).maxwait_s < DEADLINE + 5
        totals = sample.totals
        assert (totals.cl_active, totals.cl_waiting, totals.sv_active) == (3, 1, 2)
        assert not answered.is_set()
        # One holder commits: the waiter gets its server and the queue drains.
        holders[0].execute("COMMIT")
        thread.join(DEADLINE)
        assert answered.is_set()
        sample = poll(collector, lambda s: app_pool(s).cl_waiting == 0)
        assert app_pool(sample).maxwait_s == 0
        # The wait the client went through lands in SHOW STATS' average (stats_period=1).
        sample = poll(collector, lambda s: (app_pool(s).avg_wait_ms or 0) > 0)
        holders[1].execute("COMMIT")


def test_admin_console_pseudo_pool_is_not_listed(bouncer: PgBouncer, collectors) -> None:
    collector = collectors(bouncer.admin_dsn())
    with ExitStack() as stack:
        client(stack, bouncer).execute("SELECT 1")
        sample = poll(collector, lambda s: s.up and len(s.pools) == 1)
    assert [p.name for p in sample.pools] == [f"{POOL_DB}/postgres"]


def test_stats_averages_are_in_milliseconds(bouncer: PgBouncer, collectors) -> None:
    collector = collectors(bouncer.admin_dsn())
    with ExitStack() as stack:
        conn = client(stack, bouncer)
        for _ in range(3):
            conn.execute("SELECT pg_sleep(0.05)")
        sample = poll(collector, lambda s: s.up and bool(s.pools)
                      and (app_pool(s).avg_query_ms or 0) > 10)  # fmt: skip
    avg = app_pool(sample).avg_query_ms
    # 50 ms queries: in microseconds this would read 50000, in seconds 0.05.
    assert avg is not None and 40 <= avg < 5000


def test_stopped_pgbouncer_is_a_typed_failure_then_recovers(bouncer: PgBouncer,
                                                            collectors) -> None:
    collector = collectors(bouncer.admin_dsn())
    assert collector.sample().up
    bouncer.stop()
    down = collector.sample()
    assert down.status == "down"
    assert down.error is not None and down.error.kind is FailureKind.UNREACHABLE
    assert down.pools == () and down.totals.cl_active == 0
    bouncer.start()
    assert poll(collector, lambda s: s.up).error is None


def test_nothing_listening_is_unreachable(collectors) -> None:
    collector = collectors(f"host=127.0.0.1 port={free_port()} user=postgres")
    first, second = collector.sample(), collector.sample()
    for sample in (first, second):
        assert sample.status == "down"
        assert sample.error is not None and sample.error.kind is FailureKind.UNREACHABLE


def test_a_user_who_is_not_an_admin_gets_a_permission_failure(bouncer: PgBouncer,
                                                              collectors) -> None:
    sample = collectors(bouncer.admin_dsn(user=PLAIN_USER)).sample()
    assert sample.status == "down"
    assert sample.error is not None and sample.error.kind is FailureKind.PERMISSION
    assert "not allowed" in sample.error.message
    unknown = collectors(bouncer.admin_dsn(user="nobody")).sample()
    assert unknown.error is not None and unknown.error.kind is FailureKind.AUTH


def test_a_stalled_pgbouncer_times_out_instead_of_hanging(bouncer: PgBouncer,
                                                          collectors) -> None:
    collector = collectors(bouncer.admin_dsn(), budget=0.5)
    assert collector.sample().up
    bouncer.pause_process()
    try:
        results: list[BouncerSample] = []
        for _ in range(2):  # on the held connection, then on a fresh connect attempt
            thread = threading.Thread(target=lambda: results.append(collector.sample()))
            thread.start()
            thread.join(DEADLINE)
            assert not thread.is_alive(), "sample() hung on a stalled PgBouncer"
            time.sleep(0.6)  # past the first reconnect backoff, so the second sample connects
        for sample in results:
            assert sample.status == "down"
            assert sample.error is not None and sample.error.kind is FailureKind.TIMEOUT
    finally:
        bouncer.resume_process()
    assert poll(collector, lambda s: s.up).up


def test_close_interrupts_a_waiting_sample(bouncer: PgBouncer, collectors) -> None:
    collector = collectors(bouncer.admin_dsn(), budget=60.0)
    assert collector.sample().up
    bouncer.pause_process()
    try:
        results: list[BouncerSample] = []
        thread = threading.Thread(target=lambda: results.append(collector.sample()))
        thread.start()
        deadline = time.monotonic() + DEADLINE
        while not collector._lock.locked():  # wait until the sample is under way
            assert time.monotonic() < deadline
            time.sleep(0.01)
        collector.close()
        thread.join(DEADLINE)
        assert not thread.is_alive(), "close() left sample() waiting for its 60 s budget"
        assert results[0].status == "down"
        assert collector.sample().status == "down"
    finally:
        bouncer.resume_process()


def test_a_malformed_dsn_never_echoes_the_password(collectors) -> None:
    sample = collectors("host=127.0.0.1 password=hunter2-secret nonsense").sample()
    assert sample.status == "down"
    assert sample.error is not None and sample.error.kind is FailureKind.OTHER
    assert "hunter2" not in sample.error.message


# -- who waits, and the pooler finding ----------------------------------------------------------


def test_waiting_clients_are_named_by_application_and_address(bouncer: PgBouncer,
                                                              collectors) -> None:
    collector = collectors(bouncer.admin_dsn())
    with ExitStack() as stack:

        def named(app: str) -> psycopg.Connection:
            return stack.enter_context(psycopg.connect(
                bouncer.dsn(application_name=app), autocommit=True, prepare_threshold=None))

        # pool_size=2: two clients inside a transaction hold both server connections.
        holders = [named("ledger") for _ in range(2)]
        for holder in holders:
            holder.execute("BEGIN")
            holder.execute("SELECT 1")
        threads = []
        for _ in range(3):
            waiter = named("checkout")
            thread = threading.Thread(target=waiter.execute, args=("SELECT 1",), daemon=True)
            thread.start()
            threads.append(thread)
        sample = poll(collector, lambda s: s.up and app_pool(s).cl_waiting == 3)
        groups = {(g.application, g.address): g for g in app_pool(sample).clients}
        checkout = groups[("checkout", "127.0.0.1")]
        assert (checkout.clients, checkout.waiting) == (3, 3)
        ledger = groups[("ledger", "127.0.0.1")]
        assert (ledger.clients, ledger.waiting) == (2, 0)
        assert next(iter(groups)) == ("checkout", "127.0.0.1")  # most waiting first
        line = sample.to_json()["pools"][0]
        assert [(c["application"], c["waiting"]) for c in line["clients_waiting"]] == [
            ("checkout", 3)
        ]
        for holder in holders:
            holder.execute("COMMIT")
        for thread in threads:
            thread.join(DEADLINE)
            assert not thread.is_alive()
        # Without a queue, SHOW CLIENTS is not read: no client list on a calm pool.
        calm = poll(collector, lambda s: s.up and app_pool(s).cl_waiting == 0)
    assert app_pool(calm).clients == ()


def sample_lines(pg: PgCluster, bouncer: PgBouncer, home: Path,
                 until: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """`warroom sample --pgbouncer ... --json` lines until one satisfies ``until``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "sample", "--dsn", pg.dsn(user=MONITOR_ROLE),
         "--pgbouncer", bouncer.admin_dsn(), "--interval", "0.5", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "WARROOM_HOME": str(home),
             "XDG_CONFIG_HOME": str(home / "config")},  # default thresholds
    )  # fmt: skip
    lines: list[dict[str, Any]] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            lines.append(json.loads(proc.stdout.readline()))
            if until(lines[-1]):
                return lines
        raise AssertionError(f"not seen within 40 s; last line: {lines[-1]}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def pooled(bouncer: PgBouncer, clients: int,
           sleep_s: float) -> AbstractContextManager[subprocess.Popen[bytes]]:
    if not (bouncer.cluster.bin_dir / "pgbench").exists():
        pytest.skip(f"no pgbench beside {bouncer.cluster.bin_dir}")
    return bouncer.pgbench(clients, sleep_s, application="checkout")


def pooler_findings(line: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in line["findings"] if f["rule"] == "pooler"]


def test_sample_names_the_pool_and_the_clients_queueing_behind_it(
    pg: PgCluster, bouncer_factory, tmp_path: Path
) -> None:
    bouncer = bouncer_factory(pool_size=2)
    # pgbench with 8 clients through a pool of 2 server connections: 6 wait in PgBouncer,
    # each about 3 s a turn, while the database has 2 busy sessions, far from full.
    with pooled(bouncer, 8, 1.0):
        lines = sample_lines(pg, bouncer, tmp_path, lambda d: bool(pooler_findings(d)))
    last = lines[-1]
    assert last["status"] == "up" and last["pgbouncer"]["status"] == "up"
    (pool,) = [p for p in last["pgbouncer"]["pools"] if p["database"] == POOL_DB]
    assert pool["user"] == "postgres" and pool["cl_waiting"] >= 1
    assert (pool["sv_active"], pool["sv_idle"]) == (2, 0)
    assert pool["maxwait_s"] >= 1
    waiting = pool["clients_waiting"]
    assert [(c["application"], c["address"]) for c in waiting] == [("checkout", "127.0.0.1")]
    assert waiting[0]["waiting"] == pool["cl_waiting"] and waiting[0]["clients"] == 8
    (finding,) = pooler_findings(last)
    assert finding["subject"] == f"pool {POOL_DB}/postgres"
    assert finding["text"].startswith(f"PgBouncer pool {POOL_DB}/postgres: ")
    assert "all 2 server connections busy" in finding["text"]
    assert "checkout at 127.0.0.1" in finding["text"]
    evidence = finding["evidence"]
    assert (evidence["database"], evidence["user"]) == (POOL_DB, "postgres")
    # The database itself is nowhere near full: no saturation alert would have said a word.
    assert evidence["database_saturation"] < 50
    assert last["connections"]["saturation"] < 0.5


def test_a_healthy_pooler_gives_no_finding(pg: PgCluster, bouncer_factory, collectors,
                                           tmp_path: Path) -> None:
    bouncer = bouncer_factory(pool_size=4)
    collector = collectors(bouncer.admin_dsn())
    # Two busy clients, four server connections: nobody waits once both have a server.
    with pooled(bouncer, 2, 0.05):
        poll(collector, lambda s: s.up and bool(s.pools)
             and app_pool(s).sv_active + app_pool(s).sv_idle >= 2)  # fmt: skip
        result = run_warroom("sample", "--dsn", pg.dsn(user=MONITOR_ROLE), "--pgbouncer",
                             bouncer.admin_dsn(), "--count", "8", "--interval", "0.3", "--json",
                             home=tmp_path, env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 8
    # A fresh process's first admin read may miss its budget on a loaded machine (a line with
    # the pooler down and no pools): that is weather, not waiting, and gives no finding either.
    answered = [line for line in lines if line["pgbouncer"]["status"] == "up"]
    assert len(answered) >= 4, [line["pgbouncer"] for line in lines]
    for line in answered:
        (pool,) = [p for p in line["pgbouncer"]["pools"] if p["database"] == POOL_DB]
        assert pool["cl_active"] == 2 and pool["cl_waiting"] == 0
        assert pool["clients_waiting"] == []
    assert all(pooler_findings(line) == [] for line in lines)


def test_more_pgbouncers_than_servers_is_one_line_error(tmp_path: Path) -> None:
    result = run_warroom("sample", "--pgbouncer", "host=a", "--pgbouncer", "host=b", "--json",
                         "--count", "1", home=tmp_path)  # fmt: skip
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("warroom: error: 2 --pgbouncer for 0 --dsn: ")
    assert len(result.stderr.splitlines()) == 1


def test_a_queue_in_pgbouncer_raises_pooler_wait_and_clears_when_it_drains(
    pg: PgCluster, bouncer: PgBouncer, collectors
) -> None:
    from warroom.collectors.alerts import AlertEngine, Level, State
    from warroom.collectors.postgres import PostgresCollector

    collector = collectors(bouncer.admin_dsn())
    server = PostgresCollector(pg.dsn(user=MONITOR_ROLE))
    engine = AlertEngine()
    try:
        with ExitStack() as stack:
            holders = [client(stack, bouncer) for _ in range(2)]  # pool_size=2: both servers
            for holder in holders:
                holder.execute("BEGIN")
                holder.execute("SELECT 1")
            waiter = client(stack, bouncer)
            thread = threading.Thread(target=waiter.execute, args=("SELECT 1",), daemon=True)
            thread.start()
            # Quiet until the wait reaches the warning threshold (1 s by default)...
            young = poll(collector, lambda s: s.up and app_pool(s).cl_waiting == 1)
            if young.totals.maxwait_s < 1.0:
                assert engine.evaluate(server.sample(), bouncer=young) == []
            old = poll(collector, lambda s: app_pool(s).maxwait_s >= 1.0)
            (event,) = engine.evaluate(server.sample(), bouncer=old)
            assert (event.rule, event.state, event.level) == (
                "pooler_wait", State.RAISED, Level.WARNING)
            assert event.message.startswith("raised WARNING PgBouncer clients waiting ")
            assert f"({POOL_DB}/postgres: 1 waiting, 2 server connections busy)" in event.message
            for holder in holders:
                holder.execute("COMMIT")
            thread.join(DEADLINE)
            drained = poll(collector, lambda s: app_pool(s).cl_waiting == 0)
        # ...and cleared after three samples without a queue (the default clear_after).
        events = [e for _ in range(3) for e in engine.evaluate(server.sample(), bouncer=drained)]
        assert [(e.rule, e.state) for e in events] == [("pooler_wait", State.CLEARED)]
    finally:
        server.close()
