"""The real dashboard (App.run_test) on a shared session: others' entries, the indicator."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.share_hosts import Host

from warroom.sessions.recorder import Recorder
from warroom.sessions.share.sharer import Sharer, presence_lines
from warroom.sessions.store import Store
from warroom.tui.app import WarroomApp
from warroom.widgets.header import IncidentHeader
from warroom.widgets.timeline import TimelineTable


async def _until(pilot: Any, check: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not shown within {timeout}s")
        await pilot.pause(0.05)


@pytest.mark.asyncio
async def test_dashboard_shows_others_entries_and_the_sharing_state(
    shared: tuple[Host, Host, str], ops: Any
) -> None:
    a, b, _ = shared
    store = Store.open(a.session())
    sharer = Sharer(store, ops.dsn(), host="hostA", author="ana@hostA", poll=0.5).start()
    app = WarroomApp(Recorder(store), author="ana@hostA")
    app.sharer = sharer

    def header() -> str:
        view = app.query_one(IncidentHeader).view
        notes = [text for text, _ in view.notes] if view is not None else []
        return next((t for t in notes if "shared" in t or "ops DB" in t or ("pending" in t
                     and not t.startswith("record"))), "")

    def rows() -> list[Any]:
        return list(app.query_one(TimelineTable)._rows)

    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await _until(pilot, lambda: header() == "shared", 10, "'shared'")
            await asyncio.to_thread(b.run, "note", "pgbouncer pool at 100%")
            await _until(
                pilot,
                lambda: any(r.text == "pgbouncer pool at 100%" for r in rows()),
                5,
                "B's note",
            )
            row = next(r for r in rows() if r.text == "pgbouncer pool at 100%")
            assert row.author == "hostB-user@hostB"
            present = {(p.host, p.author) for p in sharer.status().present}
            assert ("hostA", "ana@hostA") in present
            assert ("hostB", "hostB-user@hostB") in present
            lines = presence_lines(sharer.status())
            assert any(li.startswith("hostB-user@hostB") and "last seen" in li for li in lines)
            # ...and the dashboard says who else is in the incident, on the timeline's border.
            table = app.query_one(TimelineTable)
            await _until(pilot, lambda: "hostB-user@hostB" in str(table.border_subtitle or ""),
                         5, "who is in the incident")
            ops.stop()
            await _until(pilot, lambda: "ops DB unreachable" in header(), 15, "unreachable")
            await pilot.press("question_mark")  # the UI keeps answering keys meanwhile
            await _until(pilot, lambda: app.screen.query("HelpPanel"), 2, "the help panel")
            ops.start()
    finally:
        sharer.stop()
