"""Several real servers in one dashboard: a primary and its streaming replica.

The dashboard runs with the real collectors against throwaway clusters (the replica made by
``pg_basebackup -R``); what is checked is what the responder sees on the strip and reads on the
timeline. Waits are for a condition with a deadline, never for a time.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg
import pytest
from support.pgcluster import MONITOR_ROLE, PgCluster
from support.replica import REPLICATION_HBA, Replica, replica_of, replication_conf
from tui_support import wait_for

from warroom.collectors.alerts import AlertConfig
from warroom.sessions.model import Server
from warroom.sessions.store import load
from warroom.tui.app import WarroomApp
from warroom.tui.launch import WatchOptions, build_app, open_store
from warroom.widgets.servers import ServersStrip


@contextmanager
def primary_and_replica(pg_factory) -> Iterator[tuple[PgCluster, Replica]]:
    primary = pg_factory(max_connections=20, extra_conf=replication_conf(), hba=REPLICATION_HBA)
    with replica_of(primary) as replica:
        yield primary, replica


def dashboard(tmp_path: Path, primary: PgCluster, replica: Replica) -> WarroomApp:
    servers = [Server("primary", primary.dsn(user=MONITOR_ROLE)),
               Server("replica", replica.dsn(user=MONITOR_ROLE))]  # fmt: skip
    # The store as `watch` opens it: the record lists the servers (passwords removed).
    options = WatchOptions(dsn=servers[0].dsn, session=tmp_path / "incident.toml", title="lag",
                           interval=0.5, pgbouncer=None, author="ana", servers=tuple(servers))
    return build_app(open_store(options), servers[0].dsn, interval=0.5, author="ana",
                     alerts=AlertConfig(), servers=servers)  # fmt: skip


def row(app: WarroomApp, index: int) -> str:
    view = app.query_one(ServersStrip).rendered
    lines = str(view).splitlines()
    return lines[index] if index < len(lines) else ""


def timeline_texts(app: WarroomApp) -> list[str]:
    return [e.text for e in app.incident.timeline]


def sql(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement)


async def both_up(pilot, app: WarroomApp) -> None:
    await wait_for(pilot, lambda: " primary up " in row(app, 0).replace("  ", " ")
                   and " replica up " in row(app, 1).replace("  ", " "), 60)  # fmt: skip


@pytest.mark.asyncio
async def test_lag_shows_on_the_strip_while_replay_is_paused_and_clears(pg_factory, tmp_path):
    with primary_and_replica(pg_factory) as (primary, replica):
        app = dashboard(tmp_path, primary, replica)
        async with app.run_test(size=(100, 30)) as pilot:
            await both_up(pilot, app)
            sql(replica.dsn(), "SELECT pg_wal_replay_pause()")
            sql(primary.dsn(), "CREATE TABLE filler AS SELECT g FROM generate_series(1, 200000) g")
            await wait_for(pilot, lambda: "replay paused" in row(app, 1)
                           and app.states[1].last_up.replication.lag_bytes > 0, 60)  # fmt: skip
            await pilot.press("2")  # the replica's panes: its replication pane says paused
            await wait_for(pilot, lambda: "replay paused" in str(
                app.query_one("#replication").rendered), 10)  # fmt: skip
            sql(replica.dsn(), "SELECT pg_wal_replay_resume()")
            await wait_for(pilot, lambda: "replay paused" not in row(app, 1)
                           and app.states[1].last_up.replication.lag_bytes == 0, 60)  # fmt: skip
            assert "lag 0 bytes" in row(app, 1)


@pytest.mark.asyncio
async def test_a_stopped_replica_goes_down_alone_and_the_primary_logs_the_disconnect(
    pg_factory, tmp_path: Path
) -> None:
    with primary_and_replica(pg_factory) as (primary, replica):
        app = dashboard(tmp_path, primary, replica)
        async with app.run_test(size=(100, 30)) as pilot:
            await both_up(pilot, app)
            await wait_for(pilot, lambda: app.states[0].last_up.replication is not None
                           and app.states[0].last_up.replication.replicas, 60)  # fmt: skip
            replica.stop("fast")
            await wait_for(pilot, lambda: "DOWN" in row(app, 1), 60)
            seen = app.states[0].latest.at
            await wait_for(pilot, lambda: app.states[0].latest.at > seen, 30)
            assert " up " in row(app, 0) and "DOWN" not in row(app, 0)
            await wait_for(pilot, lambda: any(t.startswith("[primary] standby ")
                           and "disconnected" in t for t in timeline_texts(app)), 60)  # fmt: skip
            await wait_for(pilot, lambda: any(t.startswith("[replica] raised CRITICAL database "
                           "unreachable") for t in timeline_texts(app)), 60)  # fmt: skip
        incident = load(app.session_path).incident
        assert [s.name for s in incident.target.servers] == ["primary", "replica"]


@pytest.mark.asyncio
async def test_a_promoted_replica_is_shown_as_primary_and_logged(pg_factory, tmp_path):
    with primary_and_replica(pg_factory) as (primary, replica):
        app = dashboard(tmp_path, primary, replica)
        async with app.run_test(size=(100, 30)) as pilot:
            await both_up(pilot, app)
            replica.promote()
            await wait_for(pilot, lambda: any(t.startswith("[replica] promoted")
                           for t in timeline_texts(app)), 60)  # fmt: skip
            await wait_for(pilot, lambda: "replica" in row(app, 1)
                           and " primary up" in row(app, 1).replace("  ", " "), 30)  # fmt: skip


def _cluster_processes(pid: int) -> list[psutil.Process]:
    postmaster = psutil.Process(pid)
    return [postmaster, *postmaster.children(recursive=True)]


@pytest.mark.asyncio
async def test_a_stalled_server_never_delays_the_other_ones_samples(pg_factory, tmp_path):
    with primary_and_replica(pg_factory) as (primary, replica):
        app = dashboard(tmp_path, primary, replica)
        async with app.run_test(size=(100, 30)) as pilot:
            await both_up(pilot, app)
            assert replica.pid is not None
            stopped = _cluster_processes(replica.pid)
            for proc in stopped:
                os.kill(proc.pid, signal.SIGSTOP)
            try:
                # The replica's poller is stuck in a sample (its server answers nothing)...
                await wait_for(pilot, lambda: any(p.name == "postgres:replica"
                               and p.busy_since is not None for p in app.source.pollers), 30)
                # ...while the primary's samples keep coming: five more, one by one.
                for _ in range(5):
                    seen = app.states[0].latest.at
                    await wait_for(pilot, lambda seen=seen: app.states[0].latest.at > seen, 10)
                await wait_for(pilot, lambda: "stale" in row(app, 1) or "DOWN" in row(app, 1), 30)
                assert " up " in row(app, 0)
            finally:
                for proc in stopped:
                    os.kill(proc.pid, signal.SIGCONT)
