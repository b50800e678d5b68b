"""PostgresCollector against a real server: what the responder reads must be exactly right."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from support.pgcluster import MONITOR_ROLE, PgCluster
from support.pgtest import held, sample_until, wait_active

from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import Count, FailureKind

# The original contract, then what issues 11 (findings, signals) and 12 (role, replication)
# added beside it.
JSON_KEYS = {"at", "status", "error", "connections", "latency_ms", "tps", "findings", "signals",
             "role", "replication"}
CONN_KEYS = {"total", "max", "saturation", "by_state", "waiting", "by_application", "source",
             "by_user", "by_client", "by_group"}  # issue 19: who holds the slots, any source


def monitor(cluster: PgCluster, **kwargs) -> PostgresCollector:
    kwargs.setdefault("probe_every", 0)
    return PostgresCollector(cluster.dsn(user=MONITOR_ROLE), **kwargs)


def test_counts_per_application_state_user_and_client_are_exact(pg_factory) -> None:
    cluster = pg_factory(max_connections=20)
    with held(cluster) as h, monitor(cluster) as col:
        h.idle("idle-app")
        h.idle("idle-app")
        for _ in range(3):
            h.idle_in_transaction("txn-app")
        h.idle_in_transaction("broken-app", aborted=True)
        for _ in range(2):
            h.active("busy-app", user="postgres")
        wait_active(cluster, "busy-app", 2)
        expected_states = {
            "idle": 2,
            "idle in transaction": 3,
            "idle in transaction (aborted)": 1,
            "active": 2,
        }
        # Poll only so that the helper connection of wait_active has finished exiting.
        s = sample_until(col, lambda s: s.up and s.connections.by_state == expected_states)
        conns = s.connections
        assert conns.total == 8  # the monitor's own backend is not among them
        assert conns.max == 20 and conns.reserved == 3
        assert conns.saturation == pytest.approx(8 / 17)
        assert conns.waiting == 0
        assert conns.by_application == (
            Count("txn-app", 3), Count("busy-app", 2), Count("idle-app", 2), Count("broken-app", 1)
        )  # fmt: skip
        assert conns.by_user == (Count("app", 6), Count("postgres", 2))
        assert conns.by_client == (Count("127.0.0.1", 8),)
        assert s.longest_query is not None
        assert s.longest_query.application == "busy-app"
        assert s.longest_query.state == "active"
        assert s.longest_query.query == "SELECT pg_sleep(60)"
        assert s.oldest_idle_xact_s is not None and s.oldest_idle_xact_s > 0
        assert s.oldest_xact_s is not None and s.oldest_xact_s >= s.oldest_idle_xact_s
        assert s.query_ms is not None and s.query_ms > 0
        assert s.server_version == cluster.version_num
        assert col.backend_pid not in {c.info.backend_pid for c in h.conns}


def test_only_the_top_n_applications_are_listed_and_query_text_is_cut(pg) -> None:
    long_sql = "SELECT pg_sleep(60) /* " + "x" * 300 + " */"
    with held(pg) as h, monitor(pg, top=2) as col:
        for i in range(3):
            h.idle(f"top-{i}")
        h.idle("top-0")
        h.active("top-long", long_sql)
        wait_active(pg, "top-long", 1)
        s = sample_until(col, lambda s: s.up and s.longest_query is not None)
        assert len(s.connections.by_application) == 2
        assert s.connections.by_application[0] == Count("top-0", 2)
        assert s.longest_query.query == long_sql[:200]


def test_lock_conflict_reports_waiting_blocked_pid_and_blocker(pg) -> None:
    table = f"lock_{secrets.token_hex(4)}"
    with pg.connect() as admin:
        admin.execute(f"CREATE TABLE {table} (id int)")
    try:
        with held(pg) as h, monitor(pg) as col:
            blocker = h.idle("blocker", user="postgres")
            blocker.execute("BEGIN")
            blocker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            victim_pid = h.active("victim", f"SELECT count(*) FROM {table}", user="postgres")
            wait_active(pg, "victim", 1, lock=True)
            s = sample_until(col, lambda s: s.up and s.connections.waiting == 1)
            assert len(s.blocked) == 1
            b = s.blocked[0]
            assert b.pid == victim_pid
            assert b.blocked_by == (blocker.info.backend_pid,)
            assert b.application == "victim"
            assert b.query == f"SELECT count(*) FROM {table}"
            assert s.connections.by_state["idle in transaction"] >= 1
            blocker.execute("ROLLBACK")
            s = sample_until(col, lambda s: s.up and s.connections.waiting == 0)
            assert s.blocked == ()
    finally:
        with pg.connect() as admin:
            admin.execute(f"DROP TABLE {table}")


def test_tps_counts_commits_and_rollbacks_but_not_warroom_itself(pg_factory) -> None:
    cluster = pg_factory(extra_conf={"autovacuum": "off"})
    with monitor(cluster) as col:
        sample_until(col, lambda s: s.up and s.tps is not None)
        # Idle server: warroom's own statements must not show up as traffic.
        idle = [col.sample() for _ in range(4)]
        assert sum(s.tps for s in idle) < 1.0

        commits, rollbacks = 150, 50
        worker = cluster.connect(user="app")
        for _ in range(commits):
            worker.execute("SELECT 1")
        worker.autocommit = False
        for _ in range(rollbacks):
            worker.execute("SELECT 1")
            worker.rollback()
        worker.close()  # a backend flushes its counters when it exits

        total = 0.0
        prev = idle[-1]  # taken before the worker's first transaction
        deadline = time.monotonic() + 15
        while total < commits + rollbacks - 0.5 and time.monotonic() < deadline:
            time.sleep(0.1)
            s = col.sample()
            total += (s.tps or 0.0) * (s.at - prev.at).total_seconds()
            prev = s
        for _ in range(3):  # nothing more should trickle in afterwards
            time.sleep(0.2)
            s = col.sample()
            total += (s.tps or 0.0) * (s.at - prev.at).total_seconds()
            prev = s
        # The worker's own connection start-up and exit are transactions too.
        assert commits + rollbacks - 0.5 <= total <= commits + rollbacks + 4


def test_to_json_has_exactly_the_documented_keys_up_and_down(pg) -> None:
    with monitor(pg, probe_every=0.2) as col:
        s = sample_until(col, lambda s: s.up and s.connect_ms is not None)
        doc = json.loads(json.dumps(s.to_json()))
        assert set(doc) == JSON_KEYS
        assert doc["status"] == "up" and doc["error"] is None
        assert set(doc["connections"]) == CONN_KEYS
        assert doc["connections"]["max"] == 40
        assert all(set(a) == {"name", "count"} for a in doc["connections"]["by_application"])
        assert doc["latency_ms"]["query"] > 0 and doc["latency_ms"]["connect"] > 0
        assert doc["at"].endswith("Z")
        assert doc["role"] == "primary" and doc["replication"]["role"] == "primary"

    from support.pgcluster import free_port

    nowhere = PostgresCollector(f"host=127.0.0.1 port={free_port()} user=x", probe_every=0)
    with nowhere:
        d = nowhere.sample().to_json()
    assert set(d) == JSON_KEYS
    assert d["status"] == "down"
    assert d["error"]["kind"] == "unreachable" and d["error"]["sqlstate"] is None
    assert "refused" in d["error"]["message"]
    assert d["connections"] is None and d["tps"] is None
    assert d["latency_ms"] == {"query": None, "connect": None}
    assert d["role"] is None and d["replication"] is None


def test_libpq_resolves_environment_and_uri(pg, monkeypatch) -> None:
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(pg.port))
    monkeypatch.setenv("PGUSER", MONITOR_ROLE)
    monkeypatch.setenv("PGDATABASE", "postgres")
    with PostgresCollector("", probe_every=0) as col:
        assert sample_until(col, lambda s: s.up).up
    monkeypatch.delenv("PGPORT")
    uri = f"postgresql://{MONITOR_ROLE}@127.0.0.1:{pg.port}/postgres"
    with PostgresCollector(uri, probe_every=0) as col:
        s = sample_until(col, lambda s: s.up)
        assert s.connections.max == 40
        assert pg.backend_pids("warroom") == [col.backend_pid]


def test_invalid_dsn_is_a_down_sample_not_an_exception() -> None:
    with PostgresCollector("host=127.0.0.1 nonsense_option=1", probe_every=0) as col:
        s = col.sample()
    assert s.status == "down"
    assert s.error is not None and s.error.kind == FailureKind.OTHER
