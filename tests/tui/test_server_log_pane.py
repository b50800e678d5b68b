"""The connections pane shows what the server refused (every client, from its own log) beside
warroom's probe: the real collectors and the real log reader against a real server whose slots
are full while a real client keeps retrying."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.pgcluster import PgCluster
from support.retrier import Retrier
from support.serverlog_events import server_full
from tui_support import wait_for

from warroom.collectors.alerts import AlertConfig
from warroom.sessions.model import Server
from warroom.tui.app import WarroomApp
from warroom.tui.launch import WatchOptions, build_app, open_store
from warroom.widgets.connections import ConnectionsPane

LOG_CONF = {"logging_collector": "on", "log_destination": "stderr",
            "log_line_prefix": "%m [%p] %q%u@%d/%a %h ", "lc_messages": "C"}  # fmt: skip


def dashboard(tmp_path: Path, cluster: PgCluster) -> WarroomApp:
    server = Server("", cluster.dsn())
    options = WatchOptions(dsn=server.dsn, session=tmp_path / "incident.toml", title="storm",
                           interval=0.5, pgbouncer=None, author="ana")  # fmt: skip
    return build_app(open_store(options), server.dsn, interval=0.5, author="ana",
                     alerts=AlertConfig())  # fmt: skip


def refused_line(app: WarroomApp) -> str:
    text = str(app.query_one(ConnectionsPane).rendered)
    return next((line for line in text.splitlines() if line.startswith("refused/min")), "")


def server_refused(app: WarroomApp) -> int:
    found = re.search(r"server ([\d,]+)", refused_line(app))
    return int(found.group(1).replace(",", "")) if found else -1


@pytest.mark.asyncio
async def test_the_pane_shows_the_servers_refusals_per_minute(pg_factory, tmp_path):
    cluster = pg_factory(max_connections=8, extra_conf=LOG_CONF)
    app = dashboard(tmp_path, cluster)
    async with app.run_test(size=(100, 34)) as pilot:
        # Before the storm: the log is read and the server has refused no one.
        await wait_for(pilot, lambda: server_refused(app) == 0, 30)
        assert "probe 0" in refused_line(app)
        with server_full(cluster), Retrier(cluster) as retrier:
            await wait_for(pilot, lambda: server_refused(app) >= 20, 30)
            assert retrier.refused > 0
            # Named in the findings line too, while the storm lasts (once it stops the finding
            # clears): the retry storm, by user and client.
            await wait_for(pilot, lambda: any(
                "refused" in text and "user app" in text
                for _sev, text in app.state.findings_view().items), 30)  # fmt: skip


@pytest.mark.asyncio
async def test_a_server_without_a_log_file_says_so_in_the_pane(pg, tmp_path):
    app = dashboard(tmp_path, pg)  # the suite's cluster: logging_collector off
    async with app.run_test(size=(100, 34)) as pilot:
        await wait_for(pilot, lambda: "server ?" in refused_line(app), 30)

        def pane() -> str:
            return str(app.query_one(ConnectionsPane).rendered)

        # The first read may still be running when the line appears ("still reading"): what is
        # missing comes with its answer, over two lines of the pane at most (the fix is doctor's).
        await wait_for(pilot, lambda: "server log: log_destination=stderr with" in pane(), 30)
        text = pane()
        assert "logging_collector=off" in text
