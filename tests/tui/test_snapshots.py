"""What the responder sees, frozen: 80x24 (a small SSH window) and 120x40, fixed clock and data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tui_support import T0, Clock, make_app, new_store, sample, settled

from warroom.sessions.model import Kind, Source, TimelineEntry

SIZES = [(80, 24), (120, 40)]


def busy_incident(tmp_path: Path):
    store = new_store(tmp_path, title="orders DB refusing connections")
    notes = [
        (0, Kind.DETECTION, "pager: p95 latency > 2s on orders", Source.CLI),
        (5, Kind.ESCALATION, "paged the DBA on call", Source.MANUAL),
        (9, Kind.MISLEADING, "suspected network latency; checked, it was fine", Source.MANUAL),
        (11, Kind.ACTION, "terminated idle-in-tx backends of shop-api", Source.MANUAL),
    ]
    for minute, kind, text, source in notes:
        store.append_entry(
            TimelineEntry(at=T0 + timedelta(minutes=minute), text=text, kind=kind,
                          author="ana", source=source)
        )
    return store


def feed_storm(app, clock: Clock) -> None:
    # Ten minutes of a pool ramping up, then the last sample with a refused probe.
    for n in range(600):
        at = clock.now - timedelta(seconds=600 - n)
        app.feed(sample(at, total=min(10 + n // 12, 47), query_ms=2 + n / 40))
    app.feed(sample(clock.now, total=47, query_ms=30.0, waiting=3, probe_refused=True,
                    apps=(("shop-api", 40), ("billing", 4), ("[psql]", 3))))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_during_a_storm(snap_compare, tmp_path: Path, size) -> None:
    clock = Clock()
    app = make_app(busy_incident(tmp_path), clock)

    async def run_before(pilot) -> None:
        feed_storm(app, clock)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_with_the_note_box_open(snap_compare, tmp_path: Path, size) -> None:
    clock = Clock()
    app = make_app(busy_incident(tmp_path), clock)

    async def run_before(pilot) -> None:
        feed_storm(app, clock)
        await settled(pilot, app)
        await pilot.press("n", *"! raised shop-api pool max to 20")

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_database_down(snap_compare, tmp_path: Path, size) -> None:
    from tui_support import down

    clock = Clock()
    app = make_app(busy_incident(tmp_path), clock)

    async def run_before(pilot) -> None:
        feed_storm(app, clock)
        for n in range(1, 13):
            app.feed(down(clock.now + timedelta(seconds=n)))
        clock.advance(12)
        await settled(pilot, app)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_replay_at_the_peak(snap_compare, tmp_path: Path, size) -> None:
    import asyncio

    from test_replay import record_storm

    from warroom.sessions.store import load
    from warroom.tui.app import WarroomApp
    from warroom.tui.session import replay_session

    path = asyncio.run(record_storm(tmp_path))
    incident = load(path).incident
    peak = max(incident.samples, key=lambda r: r.conn_max or 0)
    app = WarroomApp(replay_session(path, incident, at=peak.end))

    async def run_before(pilot) -> None:
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
