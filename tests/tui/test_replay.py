"""`warroom replay`: a recorded incident in the same dashboard, on a virtual clock, read-only."""

from __future__ import annotations

import asyncio
import shutil
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from tui_support import T0, Clock, make_app, new_store, pane_text, sample, settled, wait_for

from warroom.sessions.model import Kind, Source, TimelineEntry
from warroom.sessions.store import load
from warroom.tui.app import WarroomApp
from warroom.tui.session import replay_session
from warroom.widgets.timeline import TimelineTable

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCHEMA1 = FIXTURES / "schema1-session.toml"


def storm(n: int):
    """Six minutes of a pool ramping to 46 of 47 usable slots, then recovering."""
    at = T0 + timedelta(seconds=n)
    if n < 240:
        return sample(at, total=min(10 + n // 6, 46), apps=(("shop-api", min(4 + n // 6, 40)),
                                                          ("billing", 4)),
                      query_ms=2 + n / 20, probe_refused=200 < n < 240 and n % 5 == 0)
    return sample(at, total=8, apps=(("shop-api", 4), ("billing", 4)), query_ms=1.5)


async def record_storm(tmp_path: Path) -> Path:
    """A session recorded by the real dashboard: samples through the live state and Recorder."""
    store = new_store(tmp_path)
    clock = Clock(T0)
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in range(360):
            clock.now = T0 + timedelta(seconds=n)
            app.feed(storm(n))
        app.log_entry("terminated shop-api's idle backends", Kind.ACTION,
                      T0 + timedelta(seconds=250))
        await settled(pilot, app)
        await pilot.press("q")
    return store.path


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    return asyncio.run(record_storm(tmp_path))


@pytest.mark.asyncio
async def test_at_the_peak_the_panes_show_the_recorded_peak_and_top_application(
    recorded: Path,
) -> None:
    incident = load(recorded).incident
    peak = max(incident.samples, key=lambda r: r.conn_max or 0)
    assert peak.conn_max == 46 and peak.top_apps[0][0] == "shop-api"
    before = recorded.read_bytes()
    app = WarroomApp(replay_session(recorded, load(recorded, lazy=True).incident, at=peak.end))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        conns = pane_text(app.query_one("#connections"))
        assert "46/47 usable" in conns and "shop-api" in conns
        assert "REPLAY" in str(app.query_one("#header").render())
        # The findings line says what the record found then (its rules cannot rerun on rollups).
        found = pane_text(app.query_one("#findings"))
        assert "recorded" in found and "shop-api holds" in found
        # Stepping and jumping move the cursor.
        start = app.clock.cursor
        await pilot.press("right")
        assert app.clock.cursor == start + timedelta(seconds=10)
        await pilot.press("shift+left")
        assert app.clock.cursor == start - timedelta(seconds=50)
        await pilot.press("end")
        assert app.clock.at_end
        after = pane_text(app.query_one("#connections"))
        assert "8/47 usable" in after  # recovered by the end
        await pilot.press("home")
        assert app.clock.cursor == app.clock.start
        await pilot.press("right_square_bracket")  # next timeline entry
        first = incident.entries_in_order()[0]
        assert app.clock.cursor == first.at
        table = app.query_one(TimelineTable)
        assert table.selected_id == first.id
        # Editing is refused; the record is untouched.
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("q")
    assert recorded.read_bytes() == before


@pytest.mark.asyncio
async def test_enter_on_an_entry_jumps_there_and_n_adds_a_review_note_at_the_cursor(
    recorded: Path,
) -> None:
    incident = load(recorded).incident
    action = next(e for e in incident.timeline if e.kind is Kind.ACTION)
    app = WarroomApp(replay_session(recorded, load(recorded, lazy=True).incident, author="bo"))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(TimelineTable)
        table.focus()
        table.move_cursor(row=[r.id for r in table._rows].index(action.id))
        await pilot.press("enter")
        assert app.clock.cursor == action.at
        await pilot.press("left")  # 10 s before the action
        await pilot.press("n", *"should have killed it sooner", "enter")
        await settled(pilot, app)
    review = [e for e in load(recorded).incident.timeline if e.source is Source.REVIEW]
    assert [(e.text, e.at, e.author) for e in review] == [
        ("should have killed it sooner", action.at - timedelta(seconds=10), "bo")
    ]


@pytest.mark.asyncio
async def test_playing_moves_the_cursor_and_feeds_the_panes(recorded: Path) -> None:
    app = WarroomApp(replay_session(recorded, load(recorded, lazy=True).incident, speed=64))
    async with app.run_test(size=(120, 40)) as pilot:
        start = app.clock.cursor
        while app.clock.cursor < start + timedelta(seconds=60):
            await pilot.pause(0.05)
        assert "▶" in str(app.query_one("#header").render())
        await pilot.press("space")
        paused = app.clock.cursor
        await pilot.pause(0.6)
        assert app.clock.cursor == paused
        assert len(app.state.conns) > 0


@pytest.mark.asyncio
async def test_a_session_still_being_written_is_followed_at_the_end(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.append_entry(TimelineEntry(at=T0, text="opened", source=Source.CLI))
    app = WarroomApp(replay_session(store.path, load(store.path, lazy=True).incident))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("end")
        from warroom.sessions.model import SampleRollup

        store.append_samples([SampleRollup(at=T0 + timedelta(minutes=5), samples=10, conn_max=33,
                                           conn_last=33, max_connections=50, usable=47)])
        store.append_entry(TimelineEntry(at=T0 + timedelta(minutes=5), text="still going",
                                         source=Source.CLI))
        table = app.query_one(TimelineTable)
        # The entry and the pane come with the reload; the pane paints a loop turn after it.
        await wait_for(pilot, lambda: table.row_count == 2
                       and "33/47 usable" in pane_text(app.query_one("#connections")))
        assert app.clock.at_end


@pytest.mark.asyncio
async def test_a_schema_1_file_checks_replays_resumes_and_drafts(tmp_path: Path) -> None:
    from warroom.sessions.postmortem import render
    from warroom.sessions.store import Store

    path = tmp_path / SCHEMA1.name
    shutil.copy(SCHEMA1, path)
    loaded = load(path)
    assert loaded.schema == 1 and loaded.torn is None
    incident = loaded.incident
    peak = max(incident.samples, key=lambda r: r.conn_max or 0)
    before = path.read_bytes()
    app = WarroomApp(replay_session(path, incident, at=peak.end))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        conns = pane_text(app.query_one("#connections"))
        assert f"{peak.conn_max}/" in conns  # schema 1 kept the peak, not who held it
        await pilot.press("q")
    assert path.read_bytes() == before
    assert "## Metrics" in render(incident) and "```mermaid" in render(incident)
    # Resuming writes: the file is upgraded by one rewrite, and the timeline says so.
    app2 = make_app(Store.open(path), Clock(peak.end + timedelta(seconds=30)))
    async with app2.run_test(size=(120, 40)) as pilot:
        assert len(app2.state.conns) > 0  # the recorded history, charted
        app2.feed(sample(peak.end + timedelta(seconds=30)))
        app2.feed(sample(peak.end + timedelta(seconds=41)))
        await settled(pilot, app2)
        await pilot.press("q")
    record = tomllib.loads(path.read_text())
    assert record["schema"] == 2
    assert any("upgraded from schema 1 to 2" in e["text"] for e in record["timeline"])
    assert load(path).incident.timeline[: len(incident.timeline)] == incident.timeline
