"""The dashboard: its alerts and status changes go out, and a failing destination is one line
in its header while the screen goes on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tui.tui_support import Clock, make_app, new_store, sample, settled, wait_for

from notify.helpers import QUICK, write_config
from notify.receiver import Receiver, free_port, unique_events
from warroom.notify import hooks
from warroom.notify.worker import reset
from warroom.sessions.model import Source
from warroom.sessions.mutations import Mutation


@pytest.fixture(autouse=True)
def _fresh_notifier() -> Iterator[None]:
    reset()
    yield
    reset()


@pytest.mark.asyncio
async def test_dashboard_alerts_and_status_go_out(receiver: Receiver, state: Path) -> None:
    write_config(state / "config.toml",
                 {"name": "room", "url": receiver.base + "/ok", **QUICK,
                  "events": ["alert.raised", "alert.cleared", "incident.status"]},
                 {"name": "gone", "url": f"http://127.0.0.1:{free_port()}/", **QUICK})
    store = hooks.watch(new_store(state), opened=True)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in range(5):
            app.feed(sample(clock.now + timedelta(seconds=n), total=46))
        await settled(pilot, app)
        for n in range(5, 12):
            app.feed(sample(clock.now + timedelta(seconds=n), total=10))
        app.change(Mutation.status("identified", clock.now, "ana", Source.MANUAL))
        await settled(pilot, app)

        def got() -> list[str]:
            return [e["type"] for e in unique_events(receiver.requests("/ok"))]

        await wait_for(pilot, lambda: len(got()) >= 3)
        assert got() == ["alert.raised", "alert.cleared", "incident.status"]
        first = next(unique_events(receiver.requests("/ok")))
        assert first["rule"] and first["severity"] in ("warning", "critical")
        assert first["incident"]["session"] == str(store.path)
        # The other destination is down: one line in the header, and the dashboard goes on.
        await wait_for(pilot, lambda: any("notify gone" in text for text, _ in app.header_notes()))
        line = next(t for t, _ in app.header_notes() if "notify gone" in t)
        assert "cannot connect" in line and len(line) <= 60
