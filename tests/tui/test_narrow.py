"""The dashboard in a phone's SSH app (40-odd columns): what matters stays whole on the screen.

The header keeps severity and the incident clock, the panes row keeps connections and latency
(the rest would be cut at the right edge), the timeline drops its T+ and who columns so the text
the responder typed has room. Back on a wide terminal everything returns.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets.data_table import ColumnKey
from tui_support import T0, Clock, make_app, new_store, sample, wait_for

from warroom.collectors.host import HostCollector
from warroom.sessions.model import Source, TimelineEntry
from warroom.widgets.header import HeaderPart, IncidentHeader
from warroom.widgets.timeline import TimelineTable


def shown_in(header: IncidentHeader) -> str:
    """The header's line as the terminal shows it: each part's text, cut where the line ends."""
    right = header.content_region.right
    text = ""
    for part in header.query(HeaderPart):
        strip = part.render_line(0).crop(0, max(right - part.region.x, 0))
        text += strip.text
    return text


@pytest.mark.asyncio
async def test_a_narrow_terminal_keeps_severity_and_the_incident_clock(tmp_path: Path) -> None:
    # The wall time goes first, then the status word; the incident clock is never cut.
    clock = Clock()
    app = make_app(new_store(tmp_path), clock)
    async with app.run_test(size=(120, 40)) as pilot:
        header = app.query_one(IncidentHeader)
        seen = {}
        for second, width in enumerate((44, 30, 120), start=35):
            await pilot.resize_terminal(width, 40)
            await pilot.pause()
            clock.advance(1)
            app.tick()
            await pilot.pause()
            seen[width] = line = shown_in(header)
            assert "SEV2" in line and f"T+00:12:{second}" in line, line
        assert "INVESTIGATING" in seen[120] and "UTC" in seen[120] and "orders DB" in seen[120]
        assert "UTC" not in seen[44] and "INVESTIGATING" in seen[44]
        assert "INVESTIGATING" not in seen[30]


@pytest.mark.asyncio
async def test_on_a_phone_the_panes_shown_fit_and_the_timeline_text_has_room(
    tmp_path: Path,
) -> None:
    store = new_store(tmp_path)
    for minute, text in enumerate(("pool full on shop-api", "raised the pool to 40", "rolled back"),
                                  start=1):  # fmt: skip
        store.append_entry(TimelineEntry(at=T0 + timedelta(minutes=minute), text=text,
                                         source=Source.CLI))  # fmt: skip
    clock = Clock()
    app = make_app(store, clock, host=HostCollector())
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed(sample(clock.now, total=46))  # 46 of 47 usable: critical
        table = app.query_one(TimelineTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        table.move_cursor(row=1)  # the responder reads an older entry while the screen turns
        await pilot.resize_terminal(44, 30)
        await pilot.pause()
        panes = {pane.id: pane for pane in app.query("#panes > *")}
        shown = {name for name, pane in panes.items() if pane.display}
        assert shown == {"connections", "latency"}
        assert all(panes[name].region.right <= 44 for name in shown), "a pane cut at the edge"
        connections = panes["connections"]
        lines = [connections.render_line(y).text for y in range(connections.size.height)]
        gauge = next(line for line in lines if "/47" in line)
        assert "46/47" in gauge and "98% CRIT" in gauge, gauge  # the figures whole, not cut
        assert [c.value for c in table.columns] == ["time", "kind", "text"]
        text = table.columns[ColumnKey("text")]
        assert text.width >= 20 and table.region.right <= 44
        assert str(table.get_row_at(1)[2]) == "raised the pool to 40"
        assert table.cursor_row == 1
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert {p.id for p in app.query("#panes > *") if p.display} == set(panes)
        assert [c.value for c in table.columns] == ["time", "offset", "kind", "who", "text"]
        assert str(table.get_row_at(1)[4]) == "raised the pool to 40"
        assert table.cursor_row == 1
