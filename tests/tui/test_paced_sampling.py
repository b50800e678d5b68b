"""A server whose sample costs it more than warroom's share is sampled less often, and the
connections pane says so with the cost: the real collector against a real server (its cost made
"too much" by a tiny share, as 10,000 backends make it at the real one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.pgcluster import PgCluster
from tui_support import wait_for

from warroom.collectors.alerts import AlertConfig
from warroom.collectors.pace import Pace
from warroom.collectors.postgres import PostgresCollector
from warroom.tui.launch import WatchOptions, build_app, open_store
from warroom.widgets.connections import ConnectionsPane


def pane(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one(ConnectionsPane).rendered)


@pytest.mark.asyncio
async def test_a_costly_server_is_sampled_less_often_and_the_pane_says_why(
    pg: PgCluster, tmp_path: Path
) -> None:
    options = WatchOptions(dsn=pg.dsn(), session=tmp_path / "incident.toml", title="big fleet",
                           interval=0.5, pgbouncer=None, author="ana")  # fmt: skip
    app = build_app(open_store(options), pg.dsn(), interval=0.5, author="ana",
                    alerts=AlertConfig())  # fmt: skip
    collector = app.servers[0].postgres
    assert isinstance(collector, PostgresCollector)
    collector.pace = Pace(0.5, share=1e-6)  # a millisecond is then far over the share
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "a sample costs the server" in pane(app), 30)
        found = re.search(r"every ([\d.]+) s: a sample costs the server [\d.]+m?s", pane(app))
        assert found, pane(app)
        assert float(found.group(1)) == collector.every() > 0.5
        # Still the figures, not a warning in their place: the count is on the pane too.
        assert re.search(r"\d+/\d+ usable", pane(app)), pane(app)
        assert "stale" not in pane(app)
