"""Several servers in one dashboard: the strip, choosing the server, names on the timeline.

Fixed samples (the UI is under test here); the live collectors' replication figures are tested
against a real streaming replica in tests/collectors and tests/tui/test_servers_live.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tui_support import Clock, down, new_store, sample, settled, wait_for

from warroom.collectors.sample import PgSample, ReplicaLink, Replication, Slot
from warroom.sessions.recorder import Recorder
from warroom.sessions.store import load
from warroom.tui.app import WarroomApp
from warroom.tui.parts import Watched
from warroom.widgets.servers import ServersStrip

MB = 1 << 20


def on_primary(at: datetime, total: int = 30, standbys: tuple[str, ...] = ("replica-1",),
               idle_slot_mb: int = 0) -> PgSample:  # fmt: skip
    links = tuple(ReplicaLink(name, "10.0.0.2", "streaming", "async", 0, 2 * MB, 0.1, 0.1, 1.0)
                  for name in standbys)  # fmt: skip
    slots = (Slot("old-etl", "logical", False, idle_slot_mb * MB),) if idle_slot_mb else ()
    return replace(sample(at, total=total), replication=Replication("primary", links, slots))


def on_replica(at: datetime, lag_mb: int = 0, lag_s: float = 0.0, paused: bool = False,
               total: int = 12) -> PgSample:  # fmt: skip
    repl = Replication("replica", lag_bytes=lag_mb * MB, lag_s=lag_s, replay_paused=paused,
                       upstream="10.0.0.1:5432", receiving=True)  # fmt: skip
    return replace(sample(at, total=total, query_ms=1.0), replication=repl)


def three_servers(tmp_path: Path, clock: Clock) -> WarroomApp:
    servers = [Watched("primary"), Watched("replica-1"), Watched("replica-2")]
    return WarroomApp(Recorder(new_store(tmp_path)), clock=clock, author="ana", servers=servers)


def feed_ten_minutes(app: WarroomApp, clock: Clock) -> None:
    for n in range(600):
        at = clock.now - timedelta(seconds=600 - n)
        app.feed(on_primary(at, total=min(10 + n // 12, 47), idle_slot_mb=3000), 0)
        app.feed(on_replica(at, lag_mb=48 if n > 400 else 0, lag_s=14.0 if n > 400 else 0.0,
                            paused=n > 400), 1)  # fmt: skip
        app.feed(down(at) if n > 480 else sample(at, total=8), 2)


def strip_text(app: WarroomApp) -> list[str]:
    return str(app.query_one(ServersStrip).rendered).splitlines()


def test_three_servers_at_80x24(snap_compare, tmp_path: Path) -> None:
    clock = Clock()
    app = three_servers(tmp_path, clock)

    async def run_before(pilot) -> None:
        feed_ten_minutes(app, clock)
        await settled(pilot, app)
        await pilot.press("2")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.asyncio
async def test_the_strip_says_who_is_down_lagging_or_full(tmp_path: Path) -> None:
    clock = Clock()
    app = three_servers(tmp_path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        feed_ten_minutes(app, clock)
        await settled(pilot, app)
        primary, replica, gone = strip_text(app)
        assert primary.startswith("1▸primary")
        assert primary.split()[1:4] == ["primary", "up", "47/47"]
        assert "replica" in replica and "replay paused 48 MB 14s" in replica
        assert "DOWN 1m" in gone  # down since the 481st second of the ten minutes
        # Selecting a server moves the panes below the strip to it, by number and by arrow.
        await pilot.press("2")
        assert app.selected == 1 and "replica-1" in app.query_one("#connections").border_title
        assert "12/47" in str(app.query_one("#connections").rendered)
        await pilot.press("right")
        assert app.selected == 2
        await pilot.press("right")
        assert app.selected == 0
        await pilot.press("left")
        assert app.selected == 2
        await pilot.press("9")  # no ninth server: nothing moves
        assert app.selected == 2


@pytest.mark.asyncio
async def test_arrows_and_digits_in_the_note_box_are_text(tmp_path: Path) -> None:
    clock = Clock()
    app = three_servers(tmp_path, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", *"replica 2 lags", "left", "left", "X")
        await wait_for(pilot, lambda: app.query_one("#note").value == "replica 2 laXgs")
        assert app.selected == 0


@pytest.mark.asyncio
async def test_alerts_changes_and_rollups_name_their_server(tmp_path: Path) -> None:
    clock = Clock()
    app = three_servers(tmp_path, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        feed_ten_minutes(app, clock)
        start = clock.now
        # replica-1 stops streaming: the primary loses it from pg_stat_replication.
        for n in range(1, 4):
            app.feed(on_primary(start + timedelta(seconds=n), standbys=()), 0)
        await settled(pilot, app)
    incident = load(app.session_path).incident
    texts = [e.text for e in incident.timeline]
    assert "[replica-2] raised CRITICAL database unreachable: unreachable connection refused" \
        in texts
    assert any(t.startswith("[primary] raised CRITICAL saturation") for t in texts)
    assert any(t.startswith("[primary] raised WARNING inactive replication slot retaining WAL")
               and "old-etl" in t for t in texts)  # fmt: skip
    assert "[primary] standby replica-1 disconnected (was streaming)" in texts
    # One rollup per server and window, each naming its server; the replica's carries its lag.
    by_server: dict[str | None, list] = {}
    for rollup in incident.samples:
        by_server.setdefault(rollup.server, []).append(rollup)
    assert set(by_server) == {"primary", "replica-1", "replica-2"}
    assert len(by_server["primary"]) == len(by_server["replica-1"]) >= 59
    replica = by_server["replica-1"]
    assert max(r.lag_bytes or 0 for r in replica) == 48 * MB
    assert replica[-1].repl_state == "paused" and replica[-1].role == "replica"
    assert by_server["replica-2"][-1].status == "down"


@pytest.mark.asyncio
async def test_one_server_keeps_its_timeline_and_rollups_unnamed(tmp_path: Path) -> None:
    clock = Clock()
    app = WarroomApp(Recorder(new_store(tmp_path)), clock=clock, author="ana")
    async with app.run_test(size=(80, 24)) as pilot:
        for n in range(30):
            app.feed(down(clock.now + timedelta(seconds=n)))
        await pilot.press("2", "right")  # no strip, no server to choose: nothing happens
        await settled(pilot, app)
        assert not app.query(ServersStrip)
    incident = load(app.session_path).incident
    assert incident.timeline[0].text.startswith("raised CRITICAL database unreachable")
    assert {r.server for r in incident.samples} == {None}


@pytest.mark.asyncio
async def test_replay_of_several_servers_shows_each_at_the_cursor(tmp_path: Path) -> None:
    from warroom.tui.session import replay_session

    clock = Clock()
    app = three_servers(tmp_path, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        feed_ten_minutes(app, clock)
        await settled(pilot, app)
    path = app.session_path
    before = path.read_bytes()
    incident = load(path).incident
    replay = WarroomApp(replay_session(path, incident, at=clock.now - timedelta(seconds=30)))
    async with replay.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        primary, replica, gone = strip_text(replay)
        assert "47/47" in primary and "lag 2 MB" in primary
        assert "replay paused 48 MB 14s" in replica
        assert "DOWN" in gone
        await pilot.press("2")  # a server by number; the arrows stay the replay's clock
        assert replay.selected == 1
        assert "replay paused" in str(replay.query_one("#replication").rendered)
        await pilot.press("shift+left", "shift+left", "shift+left", "shift+left")
        await pilot.pause()
        assert replay.selected == 1
        primary, replica, gone = strip_text(replay)
        assert "replay paused" not in replica and "up" in gone  # four minutes earlier
    assert path.read_bytes() == before


def test_long_server_names_keep_their_end_on_the_strip() -> None:
    from warroom.widgets.servers import short_name

    assert short_name("127.0.0.1:46515") == "127.0…46515"
    assert short_name("127.0.0.1:34701") != short_name("127.0.0.1:46515")
    assert short_name("primary") == "primary"
    assert short_name("evil\x1b[2Jname\u202e") == "evilname"  # data, never terminal codes
