"""The backends view against a real PostgreSQL: find the culprit, terminate it, see it logged."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.pgcluster import MONITOR_ROLE
from support.pgtest import Held
from textual.widgets import DataTable
from tui_support import make_app, new_store, wait_for

from warroom.collectors.postgres import PostgresCollector
from warroom.sessions.model import Kind
from warroom.tui.backends import BackendsScreen, backends_screen_factory
from warroom.tui.screens.confirm import ConfirmScreen


def live_app(store, collector):
    return make_app(store, postgres=collector, backends_factory=backends_screen_factory(collector))


def count_app(pg, app: str) -> int:
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (app,)
        ).fetchone()
    return int(row[0])


async def open_backends(app, pilot) -> BackendsScreen:
    await pilot.press("b")
    screen = app.screen
    assert isinstance(screen, BackendsScreen)
    await wait_for(pilot, lambda: screen.backends)
    return screen


async def select_app(pilot, screen: BackendsScreen, name: str) -> None:
    table = screen.query_one(DataTable)
    row = next(i for i, b in enumerate(screen.shown) if b.application == name)
    table.move_cursor(row=row)
    await pilot.pause()


@pytest.mark.asyncio
async def test_terminate_every_backend_of_the_culprit_application(pg, tmp_path: Path) -> None:
    held = Held(pg)
    try:
        for _ in range(6):
            held.idle("shop-api-bv")
        held.idle_in_transaction("billing-bv")
        collector = PostgresCollector(pg.dsn(), interval=1.0, probe_every=0)
        store = new_store(tmp_path)
        app = live_app(store, collector)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_backends(app, pilot)
            apps = [b.application for b in screen.backends]
            assert apps.count("shop-api-bv") == 6 and "billing-bv" in apps

            await select_app(pilot, screen, "shop-api-bv")
            await pilot.press("X")
            assert isinstance(app.screen, ConfirmScreen)
            question = str(app.screen.question)
            assert "shop-api-bv" in question and "6 backend(s)" in question
            await pilot.press("y")

            def logged() -> list[str]:
                return [e.text for e in store.incident.timeline if e.kind is Kind.ACTION]

            await wait_for(pilot, lambda: logged())
            assert "terminated 6 backend(s) of application shop-api-bv" in logged()[0]
            assert "shop-api-bv 6 -> 0" in logged()[0]
        assert count_app(pg, "shop-api-bv") == 0
        assert count_app(pg, "billing-bv") == 1
    finally:
        held.close()


@pytest.mark.asyncio
async def test_saying_no_terminates_nothing(pg, tmp_path: Path) -> None:
    held = Held(pg)
    try:
        held.idle("keep-me-bv")
        collector = PostgresCollector(pg.dsn(), interval=1.0, probe_every=0)
        store = new_store(tmp_path)
        app = live_app(store, collector)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_backends(app, pilot)
            await select_app(pilot, screen, "keep-me-bv")
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            await pilot.pause(0.3)
        assert count_app(pg, "keep-me-bv") == 1
        assert not [e for e in store.incident.timeline if e.kind is Kind.ACTION]
    finally:
        held.close()


@pytest.mark.asyncio
async def test_a_monitor_without_the_right_is_told_and_nothing_is_logged(
    pg, tmp_path: Path
) -> None:
    held = Held(pg)
    try:
        held.idle("guarded-bv")
        collector = PostgresCollector(pg.dsn(user=MONITOR_ROLE), interval=1.0, probe_every=0)
        store = new_store(tmp_path)
        app = live_app(store, collector)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_backends(app, pilot)
            await select_app(pilot, screen, "guarded-bv")
            await pilot.press("X", "y")
            await wait_for(
                pilot, lambda: any("permission" in str(n.message) for n in app._notifications)
            )
        assert count_app(pg, "guarded-bv") == 1
        assert not [e for e in store.incident.timeline if e.kind is Kind.ACTION]
    finally:
        held.close()


@pytest.mark.asyncio
async def test_with_two_servers_the_backends_view_acts_on_the_selected_one(
    pg, pg_factory, tmp_path: Path
) -> None:
    from warroom.collectors.alerts import AlertConfig
    from warroom.sessions.model import Server
    from warroom.tui.launch import build_app

    other = pg_factory(max_connections=20)
    held = Held(other)
    try:
        for _ in range(3):
            held.idle("report-bv")
        servers = [Server("main", pg.dsn()), Server("reports", other.dsn())]
        app = build_app(new_store(tmp_path), pg.dsn(), interval=1.0, author="ana",
                        alerts=AlertConfig(), servers=servers)  # fmt: skip
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("2")
            screen = await open_backends(app, pilot)
            assert [b.application for b in screen.backends].count("report-bv") == 3
            await select_app(pilot, screen, "report-bv")
            await pilot.press("X", "y")

            def logged() -> list[str]:
                return [e.text for e in app.incident.timeline if e.kind is Kind.ACTION]

            await wait_for(pilot, lambda: logged())
            assert logged()[0].startswith("[reports] terminated 3 backend(s) of application "
                                          "report-bv")  # fmt: skip
        assert count_app(other, "report-bv") == 0
    finally:
        held.close()
