"""The dashboard records off the UI thread: a lock held elsewhere never freezes it or drops data."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from support.lockholder import LockHolder
from tui_support import Clock, make_app, new_store, sample, settled, wait_for

from warroom.sessions.model import Kind, Source, TimelineEntry
from warroom.sessions.store import Store

HOLD_S = 15.0  # longer than the 10 s a writer used to wait before dropping its write


def header(app) -> str:
    return str(app.query_one("#header").render())


@pytest.mark.asyncio
async def test_a_lock_held_for_15s_delays_the_record_and_never_freezes_or_drops(
    tmp_path: Path,
) -> None:
    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        with LockHolder(store.path) as holder:
            loop = asyncio.get_running_loop()
            released_at = loop.time() + HOLD_S
            # 40 s of samples: four rollups and a saturation alert raised and cleared.
            for n in range(40):
                app.feed(sample(clock.now + timedelta(seconds=n), total=46 if n < 20 else 10))
            await wait_for(pilot, lambda: "pending" in header(app), timeout=5)
            assert "record:" in header(app)
            # Keys answer while the writes wait: the help screen opens and closes.
            await pilot.press("question_mark")
            assert app.screen.query("HelpPanel")
            await pilot.press("question_mark")
            # A typed note is not acknowledged before it is on disk: the box keeps it.
            await pilot.press("n", *"typed while locked", "enter")
            await pilot.pause(0.3)
            note = app.query_one("#note")
            assert note.display and note.value == "typed while locked"
            await pilot.press("escape")  # hide the box; the draft waits for its fsync
            # Hold on for the rest of the 15 s, the UI still ticking.
            while loop.time() < released_at:
                await pilot.press("t")  # UTC/local, and back: the screen keeps answering
                await pilot.pause(0.5)
            assert not [e for e in tomllib.loads(store.path.read_text()).get("timeline", [])]
            holder.release()
            await settled(pilot, app, timeout=15)
        assert "pending" not in header(app)
        assert app.query_one("#note").value == ""  # acknowledged: the box cleared
    record = tomllib.loads(store.path.read_text())
    starts = [r["at"] for r in record.get("samples", [])]
    assert starts == sorted(set(starts)) and len(starts) >= 3  # in order, once each
    timeline = record["timeline"]
    alerts = [e["text"] for e in timeline if e["kind"] == "alert"]
    assert len(alerts) == 2 and "raised" in alerts[0] and "cleared" in alerts[1]
    assert [e["text"] for e in timeline if e["kind"] == "note"] == ["typed while locked"]
    ids = [e["id"] for e in timeline]
    assert len(ids) == len(set(ids))


@pytest.mark.asyncio
async def test_a_note_from_another_shell_just_before_a_rollup_appears(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        other = Store.open(store.path)
        start = clock.now.replace(microsecond=0) - timedelta(seconds=clock.now.second % 10)
        for n in range(9):
            app.feed(sample(start + timedelta(seconds=n)))
        await settled(pilot, app)
        other.append_entry(TimelineEntry(at=clock.now, text="from the CLI", kind=Kind.ACTION,
                                         source=Source.CLI))
        app.feed(sample(start + timedelta(seconds=10)))  # closes a window: a rollup is written
        await settled(pilot, app)
        table = app.query_one("#timeline")
        await wait_for(pilot, lambda: table.row_count == 1, timeout=3)
