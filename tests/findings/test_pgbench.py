"""Findings under load from a client nobody here wrote: pgbench (ships with PostgreSQL).

A `pgbench -C` storm (a connection per transaction) gives the churn finding, raised for as long
as it lasts and cleared with the numbers then; a steady
`pgbench -c 4` for 30 s gives no finding at all; and a monitor started in the middle of a
storm that takes every slot still gets in, and stays in.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator

import pytest
from support.pgcluster import MONITOR_ROLE, PgCluster

from warroom.collectors.findings import FindingEvent, FindingsEngine, Transition
from warroom.collectors.host import HostCollector
from warroom.collectors.postgres import PostgresCollector
from warroom.drill.sandbox import clean_env


def pgbench(cluster: PgCluster, *args: str) -> list[str]:
    exe = cluster.bin_dir / "pgbench"
    if not exe.exists():
        pytest.skip(f"no pgbench beside {cluster.bin_dir}")
    return [str(exe), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", *args]


@contextlib.contextmanager
def load(cluster: PgCluster, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(pgbench(cluster, *args, "postgres"), env=clean_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def bench_cluster(pg_factory) -> PgCluster:
    cluster = pg_factory(max_connections=40)
    subprocess.run(pgbench(cluster, "-i", "-s", "1", "-q", "postgres"), env=clean_env(),
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    return cluster


def watch(collector: PostgresCollector, engine: FindingsEngine, seconds: float,
          host: HostCollector | None = None, until: str | None = None) -> list[str]:
    """Sample once a second for ``seconds`` (or until ``until`` is raised): raised rules."""
    raised: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        if host is not None:
            engine.feed_host(host.sample())
        raised += [f"{e.finding.rule}: {e.finding.text}" for e in engine.feed(collector.sample())
                   if e.state.value == "raised"]  # fmt: skip
        if until is not None and any(r.startswith(until + ":") for r in raised):
            break
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    return raised


def test_a_sustained_connect_per_transaction_storm_stays_raised_and_clears_with_its_numbers(
    bench_cluster,
) -> None:
    engine = FindingsEngine()
    events: list[FindingEvent] = []
    during: list[list[str]] = []  # churn findings shown at each sample once raised
    with PostgresCollector(bench_cluster.dsn(user=MONITOR_ROLE), probe_every=0) as col:
        assert watch(col, engine, 3) == []  # a quiet baseline first
        with load(bench_cluster, "-C", "-S", "-c", "8", "-T", "10") as proc:
            while proc.poll() is None:
                started = time.monotonic()
                events += engine.feed(col.sample())
                if any(e.state is Transition.RAISED for e in events):
                    during.append([f.text for f in engine.active() if f.rule == "churn"])
                time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        # Over: polled until it clears (a finding waits clear_after samples).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(
            e.state is Transition.CLEARED for e in events
        ):
            events += engine.feed(col.sample())
            time.sleep(0.5)
    raised = [e for e in events if e.state is Transition.RAISED]
    assert [e.finding.rule for e in raised] == ["churn"], [e.message for e in events]
    text = raised[0].finding.text
    assert "sessions/s came and went from pgbench" in text and "connect-per-request" in text
    # Raised within the storm's first seconds and shown at every sample it lasted: the median
    # of the samples before it is its baseline, not the storm itself.
    assert len(during) >= 4 and all(len(shown) == 1 for shown in during), during
    assert all("came and went from pgbench" in shown[0] for shown in during), during
    cleared = [e for e in events if e.state is Transition.CLEARED]
    assert len(cleared) == 1, [e.message for e in events]
    # Its entry says the numbers when it cleared, not the storm's.
    assert cleared[0].message.startswith("no longer holds: now "), cleared[0].message
    assert cleared[0].finding.evidence["came_and_went_per_s"] < 10
    assert raised[0].finding.evidence["came_and_went_per_s"] >= 10


def test_a_steady_pgbench_load_gives_no_finding(bench_cluster) -> None:
    engine = FindingsEngine()
    with PostgresCollector(bench_cluster.dsn(user=MONITOR_ROLE)) as col:
        host = HostCollector(bench_cluster.port) if col.is_local else None
        with load(bench_cluster, "-c", "4", "-T", "40"):
            time.sleep(2)  # let its connections settle: their start-up is not churn
            raised = watch(col, engine, 30, host=host)
    assert raised == []


def test_a_monitor_started_inside_a_storm_gets_in_and_stays(bench_cluster) -> None:
    # 60 superuser clients, a connection per transaction, on 40 slots: the storm.
    with load(bench_cluster, "-C", "-S", "-c", "60", "-T", "40"):
        time.sleep(3)
        with PostgresCollector(bench_cluster.dsn(user=MONITOR_ROLE), probe_every=0) as col:
            samples = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (samples and samples[-1].up):
                samples.append(col.sample())
            assert samples[-1].up, [s.error for s in samples]
            later = [col.sample() for _ in range(5)]
    assert all(s.up for s in later)  # held once it had one
    downs = [s for s in samples if not s.up]
    # While it had no slot the screen was not blank: process titles counted the storm.
    assert all(s.connections_source == "process_titles" and s.connections is not None
               for s in downs)  # fmt: skip
