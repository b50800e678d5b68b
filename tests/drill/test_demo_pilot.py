"""The storm drill end to end, headless, on compressed timing: the responder's whole path."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from drill_support import alive

from warroom.collectors.host import HostCollector
from warroom.demo import demo_app
from warroom.drill.runner import DrillRun
from warroom.drill.scenarios import get

SPEED = 6.0


def timeline(path: Path) -> list[dict]:
    return tomllib.loads(path.read_text()).get("timeline", [])


async def wait_for(pilot, condition: Callable[[], object], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        await pilot.pause(0.2)


def has_entry(path: Path, *words: str) -> bool:
    return any(all(w in e["text"] for w in words) for e in timeline(path))


@pytest.mark.asyncio
async def test_storm_alert_fix_recover_resolve_postmortem_and_nothing_left(
    drill_dirs: dict[str, Path],
) -> None:
    run = DrillRun(get("storm"), speed=SPEED, marker_dir=drill_dirs["runtime"])
    with run:
        assert run.sandbox is not None
        base = run.sandbox.base
        started = run.pids()
        assert len(started) == 2 and all(alive(p) for p in started)  # server + shop-api
        app, store = demo_app(run, author="drill-test")
        async with app.run_test(size=(120, 40)) as pilot:
            # 1. The storm saturates the sandbox; the alert lands on the timeline by itself.
            await wait_for(
                pilot, lambda: has_entry(store.path, "raised CRITICAL saturation"), 60,
                "saturation alert",
            )  # fmt: skip
            assert app.state.latest is not None and app.state.latest.connections is not None
            assert app.state.latest.connections.by_application[0].name == "shop-api"
            # The host pane counts the sockets of the storm, not the monitor's proxied path.
            host = app.session.host
            assert isinstance(host, HostCollector)
            sockets = HostCollector(host.db_port).sample().tcp_by_state
            assert sockets.get("ESTABLISHED", 0) >= 40
            await wait_for(
                pilot, lambda: has_entry(store.path, "new connections refused"), 30,
                "refused connections alert",
            )  # fmt: skip
            # 2. The drill key reconfigures the pool; the metrics recover.
            await pilot.press("f")
            await wait_for(
                pilot, lambda: has_entry(store.path, "reconfigured shop-api"), 10, "fix logged"
            )
            await wait_for(
                pilot, lambda: has_entry(store.path, "cleared saturation"), 30,
                "saturation cleared",
            )  # fmt: skip
            conns = app.state.latest.connections
            assert conns is not None and conns.total <= 6
            assert "idle in transaction" not in conns.by_state
            # 3. Resolve, then write the postmortem.
            await pilot.press("s")
            await pilot.press("4")
            await wait_for(
                pilot, lambda: store.incident.status.value == "resolved", 5, "resolved"
            )
            await pilot.press("p")
            draft = store.path.with_suffix(".postmortem.md")
            await wait_for(pilot, draft.exists, 5, "postmortem written")
            await pilot.press("escape")
            await pilot.press("q")
    # 4. Nothing the demo started is left; the record is.
    assert not [p for p in started if alive(p)]
    assert not base.exists()
    assert not list(drill_dirs["runtime"].glob("*.json"))
    assert store.path.parent == drill_dirs["home"]
    text = draft.read_text()
    assert "raised CRITICAL saturation" in text and "reconfigured shop-api" in text
    kinds = [(e["kind"], e["author"]) for e in timeline(store.path)]
    assert ("alert", "apm") in kinds  # the service's own monitoring paged too
