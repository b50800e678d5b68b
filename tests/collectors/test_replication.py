"""Replication read from real servers of each major: a streaming standby as its primary and as
itself sees it, replay paused and resumed, an idle slot holding WAL, a promotion, and a monitor
role that is not allowed to see everything."""

from __future__ import annotations

import json

import pytest
from support.pgcluster import APP_ROLE, MONITOR_ROLE, PgCluster
from support.pgtest import sample_until
from support.replica import REPLICATION_HBA, replica_of, replication_conf

from warroom.collectors import replication
from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import PgSample


def monitor(cluster: PgCluster, user: str = MONITOR_ROLE) -> PostgresCollector:
    return PostgresCollector(cluster.dsn(user=user), interval=1.0, probe_every=0)


@pytest.fixture
def primary(pg_factory) -> PgCluster:
    return pg_factory(max_connections=20, extra_conf=replication_conf(), hba=REPLICATION_HBA)


def streaming(s: PgSample) -> bool:
    repl = s.replication
    return repl is not None and any(r.state == "streaming" for r in repl.replicas)


def write_wal(cluster: PgCluster) -> None:
    with cluster.connect() as c:
        c.execute("CREATE TABLE IF NOT EXISTS repl_load (id serial, pad text)")
        c.execute("INSERT INTO repl_load (pad)"
                  " SELECT repeat('x', 200) FROM generate_series(1, 500)")


def test_paused_replay_is_lag_on_the_replica_and_on_its_primary(primary: PgCluster) -> None:
    with replica_of(primary) as replica, monitor(primary) as pcol, monitor(replica) as rcol:
        p = sample_until(pcol, streaming, 30)
        assert p.role == "primary"
        (link,) = [r for r in p.replication.replicas if r.state == "streaming"]
        # pg_basebackup -R names no application: the standby's walreceiver default
        assert link.name == "walreceiver" and link.client == "127.0.0.1"
        assert link.sync_state == "async"

        r = sample_until(rcol, lambda s: s.up and s.replication.receiving is True, 30)
        assert r.role == "replica" and r.in_recovery is True
        assert r.replication.upstream == f"127.0.0.1:{primary.port}"
        assert r.replication.replicas == () and r.replication.note is None

        with replica.connect() as c:
            c.execute("SELECT pg_wal_replay_pause()")

        def lagging(s: PgSample) -> bool:
            write_wal(primary)  # keep WAL coming: a paused replica receives it, replays none
            return (s.replication is not None and s.replication.replay_paused
                    and (s.replication.lag_bytes or 0) > 0)  # fmt: skip

        r = sample_until(rcol, lagging)
        doc = json.loads(json.dumps(r.to_json()))
        assert doc["role"] == "replica"
        assert doc["replication"]["replay_paused"] is True
        assert doc["replication"]["lag_bytes"] > 0 and doc["replication"]["receiving"] is True
        if r.server_version >= 140000:
            assert doc["replication"]["replay_pause_state"] in ("paused", "pause requested")
        # The primary sees the same standby behind in replay, but not in what it has sent.
        p = sample_until(
            pcol, lambda s: streaming(s) and (s.replication.max_lag_bytes or 0) > 0
        )
        (link,) = [r for r in p.replication.replicas if r.state == "streaming"]
        assert link.replay_lag_bytes > 0 and link.replay_lag_bytes >= link.flush_lag_bytes

        with replica.connect() as c:
            c.execute("SELECT pg_wal_replay_resume()")
        r = sample_until(
            rcol, lambda s: s.replication is not None and not s.replication.replay_paused
            and s.replication.lag_bytes == 0,
        )  # fmt: skip
        # Replayed all it received: no lag in seconds either, however old the last commit.
        assert r.replication.lag_s == 0
        assert r.to_json()["replication"]["lag_bytes"] == 0


def test_an_idle_slot_shows_inactive_with_the_wal_it_keeps(primary: PgCluster) -> None:
    with primary.connect() as c:
        # true: reserve WAL now, the way a standby that went away leaves its slot
        c.execute("SELECT pg_create_physical_replication_slot('forgotten_standby', true)")
    with monitor(primary) as col:

        def retaining(s: PgSample) -> bool:
            write_wal(primary)
            slots = [] if s.replication is None else s.replication.slots
            return any(sl.name == "forgotten_standby" and (sl.retained_bytes or 0) > 0
                       for sl in slots)  # fmt: skip

        s = sample_until(col, retaining)
        (slot,) = [sl for sl in s.replication.slots if sl.name == "forgotten_standby"]
        assert slot.active is False and slot.kind == "physical"
        assert slot.wal_status == "reserved"  # 13+: both majors here
        doc = s.to_json()["replication"]
        (js,) = [sl for sl in doc["slots"] if sl["name"] == "forgotten_standby"]
        assert js["active"] is False and js["retained_bytes"] > 0


def test_a_promoted_replica_says_primary(primary: PgCluster) -> None:
    with replica_of(primary) as replica, monitor(replica) as col:
        s = sample_until(col, lambda s: s.up and s.replication is not None, 30)
        assert s.role == "replica" and s.to_json()["role"] == "replica"
        replica.promote()
        s = sample_until(col, lambda s: any(ch.kind == "promotion" for ch in s.changes), 30)
        assert s.role == "primary" and s.replication.role == "primary"
        assert s.to_json()["role"] == "primary"
        assert s.replication.lag_bytes is None and not s.replication.replay_paused


def test_a_role_without_pg_monitor_gets_blanks_and_a_note_not_a_failure(
    primary: PgCluster,
) -> None:
    with replica_of(primary) as replica, monitor(primary) as admin:
        sample_until(admin, streaming, 30)
        with monitor(primary, APP_ROLE) as pcol, monitor(replica, APP_ROLE) as rcol:
            p = sample_until(pcol, lambda s: s.up and bool(s.replication.replicas))
            assert p.replication.note == replication.NOTE_HIDDEN
            (link,) = p.replication.replicas
            assert link.state is None and link.replay_lag_bytes is None
            assert link.name == "walreceiver"  # application_name is never hidden
            r = sample_until(rcol, lambda s: s.up)
            assert r.role == "replica"
            assert r.replication.receiving is None and r.replication.upstream is None
            assert r.replication.note == replication.NOTE_HIDDEN
            # Its own positions are its own: the lag needs no privilege.
            assert r.replication.lag_bytes is not None


def test_a_refused_replication_query_costs_only_its_figures(pg_factory) -> None:
    cluster = pg_factory()
    with cluster.connect() as c:
        c.execute("REVOKE EXECUTE ON FUNCTION pg_current_wal_lsn() FROM PUBLIC")
    with monitor(cluster) as col:
        samples = [sample_until(col, lambda s: s.up) for _ in range(3)]
    for s in samples:
        assert s.up and s.connections is not None
        assert s.replication is None and s.role == "primary"  # from pg_is_in_recovery()
        assert "permission denied" in (s.replication_note or "")
    # Asked once on this connection, not every sample: no ERROR line per second in the log.
    log = cluster.log_file.read_text(errors="replace")
    assert log.count("permission denied for function pg_current_wal_lsn") == 1


def test_a_slot_made_on_a_lone_primary_shows_within_its_quieter_cadence(
    primary: PgCluster,
) -> None:
    from warroom.collectors.pg_reads import LONE_PRIMARY_EVERY_S

    with monitor(primary) as col:
        first = col.sample()
        assert first.replication is not None and first.replication.role == "primary"
        assert first.replication.slots == () and first.replication.replicas == ()
        # Read once a few seconds now, not every sample: the next sample says the same thing.
        assert col.sample().replication is first.replication
        with primary.connect() as c:
            c.execute("SELECT pg_create_physical_replication_slot('new_standby', true)")
        # Within the lone primary's cadence (plus a sample), never at the next restart only.
        s = sample_until(col, lambda s: s.replication is not None and any(
            sl.name == "new_standby" for sl in s.replication.slots),
            timeout=LONE_PRIMARY_EVERY_S + 5)  # fmt: skip
        # Once it has one, it is read every sample again.
        assert col.sample().replication is not s.replication
