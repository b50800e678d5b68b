"""The dashboard logs each finding once per raise (kind finding, source auto), server changes as
they come (kind change), and shows the findings line."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.findings.samples import storm
from tests.tui.tui_support import Clock, make_app, new_store
from warroom.collectors.sample import ServerChange
from warroom.widgets.findings import FindingsLine


def on_disk(path: Path) -> list[dict]:
    with path.open("rb") as f:
        return tomllib.load(f).get("timeline", [])


@pytest.mark.asyncio
async def test_findings_and_server_changes_land_on_the_timeline(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    clock = Clock()
    app = make_app(store, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in range(10):
            app.feed(replace(storm(n), at=clock.now + timedelta(seconds=n)))
        await pilot.pause()
        found = [e for e in on_disk(store.path) if e["kind"] == "finding"]
        assert [e["source"] for e in found] == ["auto", "auto"]
        assert any(e["text"].startswith("shop-api holds 46 of 47 usable slots") for e in found)
        line = str(app.query_one(FindingsLine).rendered)
        assert "shop-api holds 46" in line

        change = ServerChange("restart", clock.now, "server restarted at 09:12:40 UTC; down "
                              "for at most 4.0 s (last answer 09:12:36, up again 09:12:40)",
                              downtime_s=4.0)
        app.feed(replace(storm(11), at=clock.now + timedelta(seconds=11), changes=(change,)))
        await pilot.pause()
        changes = [e for e in on_disk(store.path) if e["kind"] == "change"]
        assert [e["text"] for e in changes] == [change.text]
        # A finding that still holds is not logged again.
        assert len([e for e in on_disk(store.path) if e["kind"] == "finding"]) == 2
