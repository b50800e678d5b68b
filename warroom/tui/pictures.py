"""Pictures for the draft: the dashboard rendered headless from the record at its worst moments.

The dashboard on a replay session, opened at the peak-saturation and peak-latency windows,
exported with Textual's own screenshot (SVG). Nothing connects anywhere: the record holds
what the panes need.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from warroom.sessions.fileio import replace_atomically
from warroom.sessions.model import Incident, SampleRollup, first_server_rollups
from warroom.tui.app import WarroomApp
from warroom.tui.session import replay_session

SIZE = (120, 40)


def _saturation(r: SampleRollup) -> float | None:
    usable = r.usable_slots
    if r.conn_max is None or not usable:
        return None
    return r.conn_max / usable


def peaks(incident: Incident) -> list[tuple[str, SampleRollup]]:
    """(what, rollup) for the peak-saturation and the peak-latency windows, when recorded.

    Of the first watched server: the replay that draws them shows that one.
    """
    found: list[tuple[str, SampleRollup]] = []
    for what, figure in (("saturation", _saturation), ("latency", lambda r: r.query_p95_ms)):
        best: SampleRollup | None = None
        best_value = None
        for r in first_server_rollups(incident):
            value = figure(r)
            if value is not None and (best_value is None or value > best_value):
                best, best_value = r, value
        if best is not None:
            found.append((what, best))
    return found


async def _render(path: Path, incident: Incident, rollup: SampleRollup) -> str:
    app = WarroomApp(replay_session(path, incident, at=rollup.end))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        svg = app.export_screenshot(title=f"warroom {incident.id} at {rollup.at:%H:%M:%S} UTC")
        app.exit()
    return svg


def save_peak_pictures(path: Path, incident: Incident, draft: Path) -> list[tuple[str, str]]:
    """Save the pictures beside ``draft``; returns (caption, file name) pairs for the draft."""
    made: list[tuple[str, str]] = []
    for what, rollup in peaks(incident):
        svg = asyncio.run(_render(path, incident, rollup))
        name = f"{draft.stem}.peak-{what}.svg"
        replace_atomically(draft.with_name(name), svg.encode("utf-8"))
        made.append((f"peak {what}, {rollup.at:%H:%M:%S} UTC", name))
    return made
