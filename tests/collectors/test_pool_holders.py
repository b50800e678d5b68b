"""Who holds the slots, with real pools nobody here wrote (psycopg_pool, SQLAlchemy).

Most drivers leave application_name blank: the pool finding must still name the service (its
user, with its client addresses), never merge two users, and keep working when the server is
already full before the monitor starts (counted from the process titles on the database host).
Healthy pools on a roomy server give no finding.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import run_warroom
from support.pgcluster import MONITOR_ROLE, PgCluster

from warroom.collectors.findings import Finding, FindingsEngine
from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import FailureKind, PgSample

psycopg_pool = pytest.importorskip("psycopg_pool")
sqlalchemy = pytest.importorskip("sqlalchemy")

MAX_CONNECTIONS = 20  # 3 reserved for superusers: 17 usable
SERVICES = ("checkout", "batch")


def _cluster(pg_factory) -> tuple[PgCluster, int]:
    cluster = pg_factory(max_connections=MAX_CONNECTIONS)
    with cluster.connect() as c:
        reserved = int(c.execute("SHOW superuser_reserved_connections").fetchone()[0])
        for role in SERVICES:
            c.execute(f'CREATE ROLE "{role}" LOGIN')
    return cluster, MAX_CONNECTIONS - reserved


@contextlib.contextmanager
def psycopg_service(cluster: PgCluster, user: str, n: int, *, in_tx: bool) -> Iterator[None]:
    """A psycopg_pool of ``n`` connections, as psycopg leaves it: no application_name. With
    ``in_tx``, every connection is checked out and left idle in a transaction (a leak)."""
    pool = psycopg_pool.ConnectionPool(cluster.dsn(user=user), min_size=n, max_size=n,
                                       open=True)  # fmt: skip
    taken = []
    try:
        pool.wait(timeout=30)
        if in_tx:
            for _ in range(n):
                conn = pool.getconn(timeout=10)
                conn.execute("SELECT 1")  # not autocommit: the transaction stays open
                taken.append(conn)
        yield
    finally:
        for conn in taken:
            with contextlib.suppress(Exception):
                conn.rollback()
            pool.putconn(conn)
        pool.close()


@contextlib.contextmanager
def sqlalchemy_service(
    cluster: PgCluster, user: str, n: int, *, application: str | None
) -> Iterator[None]:
    """A SQLAlchemy QueuePool with ``n`` connections checked out, each in a transaction."""
    args = {} if application is None else {"application_name": application}
    engine = sqlalchemy.create_engine(
        f"postgresql+psycopg://{user}@127.0.0.1:{cluster.port}/postgres",
        pool_size=n, max_overflow=0, connect_args=args,
    )  # fmt: skip
    held = []
    try:
        for _ in range(n):
            conn = engine.connect()
            conn.execute(sqlalchemy.text("SELECT 1"))  # SQLAlchemy begins implicitly
            held.append(conn)
        yield
    finally:
        for conn in held:
            conn.close()
        engine.dispose()


def _pool_findings(
    col: PostgresCollector, want: int, timeout: float = 20.0
) -> tuple[list[Finding], PgSample]:
    """Sample into a findings engine until ``want`` pool findings are raised (or time is up)."""
    engine = FindingsEngine()
    deadline = time.monotonic() + timeout
    while True:
        sample = col.sample()
        engine.feed(sample)
        found = [f for f in engine.active() if f.rule == "pool"]
        if len(found) >= want or time.monotonic() > deadline:
            return found, sample
        time.sleep(0.1)


def _counts(items) -> dict[str, int]:
    return {c.name: c.count for c in items}


def test_blank_names_are_named_by_user_and_two_users_are_never_merged(pg_factory) -> None:
    cluster, usable = _cluster(pg_factory)
    with psycopg_service(cluster, "checkout", 12, in_tx=True), \
            psycopg_service(cluster, "batch", 3, in_tx=False):  # fmt: skip
        col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE), probe_every=0)
        with col:
            found, sample = _pool_findings(col, 1)
    assert sample.up
    assert len(found) == 1, found
    pool = found[0]
    assert pool.subject == "user checkout"
    assert pool.text.startswith(
        f"user checkout (from 127.0.0.1) holds 12 of {usable} usable slots; "
        "12 idle in transaction, the oldest for"
    ), pool.text
    assert pool.evidence["user"] == "checkout" and pool.evidence["application"] == ""
    assert pool.evidence["clients"] == [{"address": "127.0.0.1", "count": 12}]
    assert pool.source == "server"
    conns = sample.connections
    groups = {(g.application, g.user): g.count for g in conns.by_group}
    assert groups == {("", "checkout"): 12, ("", "batch"): 3}  # warroom's own is not counted
    doc = json.loads(json.dumps(sample.to_json([pool.to_json()])))["connections"]
    assert doc["source"] == "server"
    assert doc["by_user"] == [{"name": "checkout", "count": 12}, {"name": "batch", "count": 3}]
    assert doc["by_client"] == [{"name": "127.0.0.1", "count": 15}]
    assert [(g["name"], g["count"], g["idle_in_transaction"]) for g in doc["by_group"]] == [
        ("user checkout", 12, 12), ("user batch", 3, 0)]


def test_a_named_sqlalchemy_pool_is_named_with_its_user(pg_factory) -> None:
    cluster, usable = _cluster(pg_factory)
    with sqlalchemy_service(cluster, "checkout", 14, application="orders-svc"):
        col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE), probe_every=0)
        with col:
            found, _sample = _pool_findings(col, 1)
    assert [f.subject for f in found] == ["orders-svc"]
    assert found[0].text.startswith(f"orders-svc holds 14 of {usable} usable slots; 14 idle in")
    assert found[0].evidence["user"] == "checkout"


def test_healthy_pools_give_no_pool_finding(pg_factory) -> None:
    cluster, _usable = _cluster(pg_factory)
    with psycopg_service(cluster, "checkout", 4, in_tx=False), \
            sqlalchemy_service(cluster, "batch", 3, application="reports"):  # fmt: skip
        col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE), probe_every=0)
        engine = FindingsEngine()
        with col:
            samples = []
            for _ in range(5):  # more than raise_after (2): a finding would have been raised
                samples.append(col.sample())
                engine.feed(samples[-1])
    assert all(s.up for s in samples)
    groups = {g.name: g.count for g in samples[-1].connections.by_group}
    assert groups["user checkout"] == 4 and groups["reports"] == 3
    assert [f for f in engine.active() if f.rule == "pool"] == []


def test_monitor_started_after_the_server_filled_names_the_holder(
    pg_factory, tmp_path: Path
) -> None:
    """The case of the issue: every slot held idle in transaction before warroom starts, no
    slot for it: `sample --json` still names the user, from the process titles."""
    cluster, usable = _cluster(pg_factory)
    with psycopg_service(cluster, "checkout", usable, in_tx=True):
        result = run_warroom(
            "sample", "--dsn", cluster.dsn(user=MONITOR_ROLE), "--json", "--count", "4",
            "--interval", "0.5", home=tmp_path,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4
    assert all(d["status"] == "down" for d in lines)
    last = lines[-1]
    assert last["error"]["kind"] == "too_many_connections"
    conns = last["connections"]
    assert conns["source"] == "process_titles" and conns["total"] == usable
    # Never had a slot: max_connections is unknown, and no percentage is made up.
    assert conns["max"] is None and conns["saturation"] is None
    assert conns["by_user"] == [{"name": "checkout", "count": usable}]
    assert conns["by_group"][0]["database"] == "postgres"
    assert last["findings"], "a full server on the database host is never findings: []"
    pool = last["findings"][0]
    assert pool["rule"] == "pool" and pool["subject"] == "user checkout on postgres"
    assert pool["source"] == "process_titles"
    assert pool["text"] == (
        f"user checkout on postgres (from 127.0.0.1) holds {usable} of {usable} client "
        f"backends; {usable} idle in transaction; counted from the server's process titles "
        "(no slot for warroom)"
    )
    assert pool["evidence"]["idle_in_transaction"] == usable


def test_a_full_server_shared_by_two_users_still_gives_a_finding(pg_factory) -> None:
    """No one holds most of it: the finding says the server is full and who holds the most,
    and once the limits are known (warroom had a slot) they are used."""
    cluster, usable = _cluster(pg_factory)
    first = usable // 2 + 1
    col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE), probe_every=0, interval=1.0)
    with col:
        assert col.sample().up  # learns max_connections, then loses its slot:
        with cluster.connect() as su:
            su.execute("SELECT pg_terminate_backend(%s)", (col.backend_pid,))
        with psycopg_service(cluster, "checkout", first, in_tx=False), \
                psycopg_service(cluster, "batch", usable - first, in_tx=True):  # fmt: skip
            found, sample = _pool_findings(col, 1)
    assert not sample.up and sample.error.kind is FailureKind.TOO_MANY_CONNECTIONS
    assert sample.connections_source == "process_titles"
    assert _counts(sample.connections.by_user) == {"checkout": first, "batch": usable - first}
    assert [f.subject for f in found] == ["server full"]
    assert found[0].text == (
        f"the server is full (it refused warroom): {usable} of {usable} usable slots; most held "
        f"by user checkout on postgres {first}, user batch on postgres {usable - first}; "
        "counted from the server's process titles (no slot for warroom)"
    )
    assert found[0].source == "process_titles"
