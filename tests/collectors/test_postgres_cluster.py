"""The throwaway cluster itself: other tests trust it, so prove it does what it says."""

from __future__ import annotations

import os

import psycopg
import pytest
from support.pgcluster import APP_ROLE, MONITOR_ROLE, PASSWORD_ROLE, PgCluster


def test_shared_cluster_answers_over_tcp_with_roles(pg: PgCluster) -> None:
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT current_setting('max_connections')::int, inet_server_addr()::text"
        ).fetchone()
        assert row == (40, "127.0.0.1/32")
    with pg.connect(user=MONITOR_ROLE) as conn:
        row = conn.execute(
            "SELECT rolsuper, pg_has_role('pg_monitor', 'member') FROM pg_roles"
            " WHERE rolname = current_user"
        ).fetchone()
        assert row == (False, True)
    with pg.connect(user=APP_ROLE) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (APP_ROLE,)


def test_password_role_needs_its_password(pg: PgCluster) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg.dsn(user=PASSWORD_ROLE, password="wrong"))
    with psycopg.connect(pg.dsn(user=PASSWORD_ROLE, password=pg.password)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_factory_cluster_stops_restarts_and_is_removed(pg_factory) -> None:
    cluster = pg_factory(max_connections=7)
    first_pid = cluster.pid
    assert first_pid is not None and os.path.exists(f"/proc/{first_pid}")
    cluster.stop("immediate")
    assert cluster.pid is None
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(cluster.dsn(), connect_timeout=2)
    cluster.start()
    with cluster.connect() as conn:
        assert conn.execute("SHOW max_connections").fetchone() == ("7",)
    cluster.cleanup()
    assert not cluster.base.exists()
