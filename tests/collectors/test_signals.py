"""The signals issue 11 added, read from a real server of each major: churn, waits, lock roots,
top statements, and the server's own changes (reload, restart, promotion)."""

from __future__ import annotations

import time

from support.pgcluster import APP_ROLE, MONITOR_ROLE, PgCluster
from support.pgtest import held, sample_until, wait_active
from support.replica import REPLICATION_HBA, replica_of, replication_conf

from warroom.collectors.postgres import PostgresCollector


def monitor(cluster: PgCluster, **kwargs) -> PostgresCollector:
    kwargs.setdefault("probe_every", 0)
    return PostgresCollector(cluster.dsn(user=MONITOR_ROLE), interval=1.0, **kwargs)


def test_churn_counts_sessions_that_came_and_went_not_those_that_stay(pg: PgCluster) -> None:
    with monitor(pg) as col, pg.connect() as watcher:
        sample_until(col, lambda s: s.up)
        col.sample()  # the first sample has no "since"
        for _ in range(12):
            pg.connect(user=APP_ROLE, application_name="reconnector").close()
        # A closed client's backend exits on its own time: gone before any sample counts it.
        deadline = time.monotonic() + 10
        while watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'reconnector'"
        ).fetchone() != (0,):
            assert time.monotonic() < deadline, "the reconnectors' backends did not exit"
            time.sleep(0.01)
        keep = pg.connect(user=APP_ROLE, application_name="newcomer")
        try:
            seen = went = 0
            groups: set[tuple[str, str]] = set()

            def counted(s) -> bool:
                nonlocal seen, went
                if s.churn is not None and s.churn.new_sessions is not None:
                    seen += s.churn.new_sessions
                    went += s.churn.came_and_went or 0
                    groups.update((g.name, g.user) for g in s.churn.new_by_group)
                return ("newcomer", APP_ROLE) in groups and (
                    seen >= 13 or pg.version_num < 140000
                )

            s = sample_until(col, counted)
        finally:
            keep.close()
        assert s.churn is not None
        assert s.churn.source == ("sessions" if pg.version_num >= 140000 else "backend_start")
        assert s.churn.new_per_s is not None and s.churn.new_per_s >= 0
        if pg.version_num >= 140000:
            # The twelve that came and went are churn; the newcomer, still connected, is not.
            assert went == 12, (seen, went)
        # Only the session still connected is named among the new ones.
        assert ("reconnector", APP_ROLE) not in groups


def test_a_lock_chain_has_its_root_and_the_waits_are_counted(pg: PgCluster) -> None:
    with pg.connect() as c:
        c.execute("CREATE TABLE IF NOT EXISTS sig_hot (id int PRIMARY KEY, n int)")
        c.execute("INSERT INTO sig_hot VALUES (1, 0) ON CONFLICT DO NOTHING")
    with held(pg) as h, monitor(pg) as col:
        blocker = h.idle("sig-batch", user="postgres")
        blocker.execute("BEGIN")
        blocker.execute("UPDATE sig_hot SET n = n + 1 WHERE id = 1")
        for _ in range(3):
            h.active("sig-api", "UPDATE sig_hot SET n = n + 1 WHERE id = 1", user="postgres")
        wait_active(pg, "sig-api", 3, lock=True)
        s = sample_until(col, lambda s: bool(s.lock_roots) and s.lock_roots[0].blocks >= 3)
        root = s.lock_roots[0]
        assert root.pid == blocker.info.backend_pid
        assert root.application == "sig-batch" and root.state == "idle in transaction"
        assert sum(w.count for w in s.waits if w.type == "Lock") == 3
        blocker.rollback()


def test_top_statements_by_database_time_over_the_window(pg: PgCluster) -> None:
    with pg.connect() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    with monitor(pg) as col:
        col.statements_every = 0.3
        sample_until(col, lambda s: s.up)
        with pg.connect(user=APP_ROLE, application_name="sig-heavy") as app:

            def busy(s) -> bool:
                app.execute("SELECT count(*) FROM generate_series(1, 20000) /* sig-heavy */")
                return bool(s.statements) and "sig-heavy" in s.statements[0].text

            s = sample_until(col, busy)
        top = s.statements[0]
        assert top.calls >= 1 and top.total_ms > 0 and 0 < top.share <= 1
        # warroom's own reads are not the application's time
        assert not any("warroom_" in st.text for st in s.statements)


def test_reload_and_restart_are_server_changes_with_the_settings(pg_factory) -> None:
    cluster = pg_factory(max_connections=20)
    with cluster.connect() as c:
        c.execute("GRANT pg_signal_backend TO warroom_monitor")
    with monitor(cluster) as col:
        sample_until(col, lambda s: s.up and s.server_started_at is not None)
        with cluster.connect() as c:
            c.execute("ALTER SYSTEM SET work_mem = '8MB'")
            c.execute("ALTER SYSTEM SET max_connections = 30")
            c.execute("SELECT pg_reload_conf()")
        s = sample_until(col, lambda s: any(ch.kind == "reload" for ch in s.changes))
        (reload,) = [ch for ch in s.changes if ch.kind == "reload"]
        names = {sc.name: sc for sc in reload.settings}
        assert (names["work_mem"].old, names["work_mem"].new) == ("4096", "8192")
        assert names["max_connections"].pending_restart
        assert "work_mem 4096 → 8192" in reload.text

        cluster.restart()
        s = sample_until(col, lambda s: any(ch.kind == "restart" for ch in s.changes), 30)
        (restart,) = [ch for ch in s.changes if ch.kind == "restart"]
        assert restart.downtime_s is not None and restart.downtime_s >= 0
        assert "down for at most" in restart.text
        assert "max_connections 20 → 30" in restart.text
        assert s.connections is not None and s.connections.max == 30


def test_promotion_of_a_replica_is_a_server_change(pg_factory) -> None:
    primary = pg_factory(max_connections=20, extra_conf=replication_conf(), hba=REPLICATION_HBA)
    with replica_of(primary) as replica:
        col = PostgresCollector(replica.dsn(user=MONITOR_ROLE), interval=1.0, probe_every=0)
        with col:
            first = sample_until(col, lambda s: s.up, 30)
            assert first.in_recovery is True
            replica.promote()
            s = sample_until(col, lambda s: any(ch.kind == "promotion" for ch in s.changes))
            assert s.in_recovery is False
            assert s.changes[0].text.startswith("promoted:")
