"""Churn with real clients nobody here wrote: a psycopg_pool warming up (and replaced, as a
deploy does) is no churn; a client connecting per request without an application_name is churn,
named by its user and address."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from support.pgcluster import MONITOR_ROLE, PgCluster

from warroom.collectors.findings import FindingEvent, FindingsEngine, Transition
from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import PgSample

psycopg_pool = pytest.importorskip("psycopg_pool")

POOL = 30


@pytest.fixture
def cluster(pg_factory) -> Iterator[PgCluster]:
    cluster = pg_factory(max_connections=2 * POOL)  # the tester's 60: half full, healthy
    with cluster.connect() as c:
        c.execute('CREATE ROLE "checkout" LOGIN')
    yield cluster


def feed(col: PostgresCollector, engine: FindingsEngine, samples: list[PgSample],
         events: list[FindingEvent]) -> None:  # fmt: skip
    """One sample a second into the engine."""
    started = time.monotonic()
    samples.append(col.sample())
    events += engine.feed(samples[-1])
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


def test_a_pool_warming_up_and_a_deploy_are_no_churn(cluster: PgCluster) -> None:
    engine = FindingsEngine()
    samples: list[PgSample] = []
    events: list[FindingEvent] = []
    dsn = cluster.dsn(user="checkout")
    with PostgresCollector(cluster.dsn(user=MONITOR_ROLE), probe_every=0) as col:
        for _ in range(3):
            feed(col, engine, samples, events)
        for _ in range(2):  # warm up, run, then a deploy: a new pool replaces the old one
            pool = psycopg_pool.ConnectionPool(dsn, min_size=POOL, max_size=POOL, open=True)
            try:
                pool.wait(timeout=30)
                for _ in range(4):
                    feed(col, engine, samples, events)
            finally:
                pool.close()
    churns = [s.churn for s in samples if s.churn is not None]
    # The server counted the sessions (both pools'), and they were new: the test saw the
    # warm-up, not a quiet server.
    assert sum(c.new_sessions or 0 for c in churns) >= 2 * POOL
    assert max((g.count for c in churns for g in c.new_by_group), default=0) >= POOL // 2
    # None of them came and went within a sample (the old pool's left long after it came).
    assert sum(c.came_and_went or 0 for c in churns) <= 2, churns
    assert events == [] and engine.active() == []


def test_a_client_without_an_application_name_churning_is_named_by_its_user(
    cluster: PgCluster,
) -> None:
    stop = threading.Event()
    made = [0]  # by three threads: a count for the failure message, not exact

    def churn() -> None:
        dsn = cluster.dsn(user="checkout")  # no application_name: psycopg's default
        while not stop.is_set():
            # A connection per request, each request doing 20 ms of work: with three at a
            # time one is nearly always connected when a sample looks, so the sample learns
            # whose sessions they are. (With sessions of a bare SELECT 1, a sample on a loaded
            # machine caught none connected for 10 s now and then: the name never came.)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_sleep(0.02)")
            made[0] += 1

    engine = FindingsEngine()
    samples: list[PgSample] = []
    events: list[FindingEvent] = []
    with PostgresCollector(cluster.dsn(user=MONITOR_ROLE), probe_every=0) as col:
        for _ in range(3):
            feed(col, engine, samples, events)
        threads = [threading.Thread(target=churn, daemon=True) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not engine.active():
                feed(col, engine, samples, events)
            # Its sessions live a few milliseconds: a sample catches one connected (and so
            # learns whose they are) only now and then; the finding names it from then on.
            while time.monotonic() < deadline and not _names_checkout(engine):
                feed(col, engine, samples, events)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
    raised = [e.finding for e in events if e.state is Transition.RAISED]
    assert [f.rule for f in raised] == ["churn"], (made, [s.churn for s in samples])
    (named,) = [f for f in engine.active() if f.rule == "churn"]
    assert " came and went from user checkout (from 127.0.0.1)" in named.text
    churner = named.evidence["churner"]
    assert churner["user"] == "checkout" and churner["application"] == ""


def _names_checkout(engine: FindingsEngine) -> bool:
    return any("from user checkout" in f.text for f in engine.active() if f.rule == "churn")
