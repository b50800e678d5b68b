"""Actions declare where they apply: a replay offers its clock and no key that would write the
record; a live incident offers no clock keys. Footer, palette and keys agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_replay import record_storm
from tui_support import make_app, new_store

from warroom.sessions.store import load
from warroom.tui.app import WarroomApp
from warroom.tui.session import replay_session


def palette(app: WarroomApp) -> str:
    return " | ".join(c.title for c in app.get_system_commands(app.screen))


def footer_keys(app: WarroomApp) -> set[str]:
    return {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}


@pytest.mark.asyncio
async def test_a_replay_offers_its_clock_and_no_key_that_writes_the_record(tmp_path: Path) -> None:
    path = await record_storm(tmp_path)
    before = path.read_bytes()
    app = WarroomApp(replay_session(path, load(path, lazy=True).incident))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        listed = palette(app)
        for wanted in ("Play/pause (space)", "+10 s (→)", "Next entry (])", "Faster (+)",
                       "Note (n)", "Draft (p)"):
            assert wanted in listed
        for hidden in ("Edit (e)", "Status (s)", "Incident (i)", "Action item (a)",
                       "Backends (b)", "Delete (d)", "Severity (v)"):
            assert hidden not in listed
        assert {"space", "left", "right"} <= footer_keys(app)
        assert not {"e", "s", "b"} & footer_keys(app)
        for key in ("e", "s", "i", "a", "v"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.screen_stack[0], f"{key} opened {app.screen!r}"
        assert not app._notifications, "a hidden key still answered"
    assert path.read_bytes() == before


@pytest.mark.asyncio
async def test_a_live_incident_offers_no_clock_keys(tmp_path: Path) -> None:
    app = make_app(new_store(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        listed = palette(app)
        assert "Edit (e)" in listed and "Backends (b)" in listed
        assert "Play/pause" not in listed and "Faster" not in listed
        assert "space" not in footer_keys(app)
        await pilot.press("space")
        await pilot.pause()
        assert not app._notifications
