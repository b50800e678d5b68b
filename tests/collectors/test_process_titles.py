"""A full server is never a blank screen: on the database host, the monitor counts the backends
from their process titles while it has no slot, and keeps trying for one."""

from __future__ import annotations

import json

import psycopg
import pytest
from support.pgcluster import APP_ROLE, MONITOR_ROLE
from support.pgtest import held, sample_until

from warroom.collectors import proctitles
from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import FailureKind


def test_titles_parse_client_backends_and_skip_the_servers_own() -> None:
    assert proctitles.parse_title("postgres: app shop 127.0.0.1(51234) idle") == (
        proctitles.Backend("app", "shop", "127.0.0.1", "idle")
    )
    assert proctitles.parse_title(
        "postgres: main: app shop [local] idle in transaction (aborted)"
    ) == proctitles.Backend("app", "shop", "local", "idle in transaction (aborted)")
    waiter = proctitles.parse_title("postgres: app shop 10.0.0.9(4000) UPDATE waiting")
    assert waiter is not None and waiter.state == "active" and waiter.waiting
    for title in ("postgres: checkpointer", "postgres: autovacuum launcher",
                  "postgres: logical replication launcher", "postgres: walwriter",
                  "postgres: autovacuum worker shop", "postgres: io worker 0"):
        assert proctitles.parse_title(title) is None, title


def test_a_full_server_is_counted_from_process_titles(pg_factory) -> None:
    cluster = pg_factory(max_connections=10)  # 3 reserved for superusers: 7 usable
    with cluster.connect() as c:
        usable = 10 - int(c.execute("SHOW superuser_reserved_connections").fetchone()[0])
    with held(cluster) as h:
        for _ in range(usable - 2):
            h.idle("filler", user=APP_ROLE)
        for _ in range(2):
            h.idle_in_transaction("filler", user=APP_ROLE)
        col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE), interval=1.0, probe_every=0)
        with col:
            assert col.is_local
            s = sample_until(col, lambda s: s.connections is not None, 10)
        assert s.status == "down" and s.error.kind is FailureKind.TOO_MANY_CONNECTIONS
        assert s.connections_source == "process_titles"
        conns = s.connections
        assert conns.total == usable
        assert dict((c.name, c.count) for c in conns.by_user) == {APP_ROLE: usable}
        assert conns.by_state == {"idle": usable - 2, "idle in transaction": 2}
        assert dict((c.name, c.count) for c in conns.by_database) == {"postgres": usable}
        doc = json.loads(json.dumps(s.to_json()))
        assert doc["status"] == "down"
        assert doc["connections"]["source"] == "process_titles"
        assert doc["connections"]["total"] == usable
        assert doc["connections"]["by_user"] == [{"name": APP_ROLE, "count": usable}]


def test_the_monitor_gets_in_when_a_slot_frees_and_keeps_it(pg_factory) -> None:
    cluster = pg_factory(max_connections=10)
    with cluster.connect() as c:
        usable = 10 - int(c.execute("SHOW superuser_reserved_connections").fetchone()[0])
    with held(cluster) as h:
        conns = [h.idle("filler", user=APP_ROLE) for _ in range(usable)]
        col = PostgresCollector(cluster.dsn(user=MONITOR_ROLE), interval=1.0, probe_every=0)
        with col:
            first = col.sample()
            assert not first.up and first.error.kind is FailureKind.TOO_MANY_CONNECTIONS
            conns[0].close()  # one slot frees for a moment; the retries catch it
            s = sample_until(col, lambda s: s.up, 10)
            with pytest.raises(psycopg.OperationalError, match="remaining connection slots"):
                h.idle("filler", user=APP_ROLE)  # the server is full again, with us inside
            for _ in range(3):
                assert col.sample().up  # and the monitor still holds its connection
        assert s.connections.total == usable - 1
